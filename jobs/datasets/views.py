from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from jobs.models import Dataset


@login_required
def dataset_list(request):
    return render(request, "jobs/dataset_list.html", {"datasets": Dataset.objects.for_user(request.user)})
