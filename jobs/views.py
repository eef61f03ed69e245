from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from jobs.models import Job


@login_required
def dashboard(request):
    jobs = Job.objects.for_user(request.user).select_related("dataset", "base_model")
    return render(request, "jobs/dashboard.html", {"jobs": jobs})
