"""Portal actions of the sharing topic: move a dataset or job between spaces, share a job
read-only and revoke the share. The owner only (jobs.sharing.access.require_manage); anyone who
cannot see the thing gets 404 first."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.throttles import portal_throttle
from jobs.models import Dataset, Job
from jobs.models.share import ShareInvitation
from jobs.sharing import access, services
from jobs.sharing.forms import ShareForm, SpaceForm


def _owned(request, queryset, pk):
    obj = access.get_visible_or_404(queryset, request.user, pk)
    access.require_manage(request.user, obj)
    return obj


def _move(request, obj):
    form = SpaceForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, "Not moved: choose your personal space or one of your teams.")
        return
    try:
        services.space_move(obj=obj, by=request.user, team_id=form.cleaned_data["team"] or None)
    except ValidationError as exc:
        messages.error(request, "Not moved: " + " ".join(exc.messages))
        return
    where = f"team “{obj.team.name}”" if obj.team_id else "your personal space"
    messages.success(request, f"Moved to {where}.")


@login_required
@require_POST
def job_move(request, pk):
    job = _owned(request, Job.objects.all(), pk)
    _move(request, job)
    return redirect("job-detail", pk=job.pk)


@login_required
@require_POST
def dataset_move(request, pk):
    dataset = _owned(request, Dataset.objects.all(), pk)
    _move(request, dataset)
    return redirect("dataset-detail", pk=dataset.pk)


@login_required
@require_POST
def job_share_add(request, pk):
    job = _owned(request, Job.objects.all(), pk)
    throttled = portal_throttle(request, "invite")
    if throttled:
        return throttled
    form = ShareForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not shared: give a username or email.")
        return redirect("job-detail", pk=job.pk)
    try:
        share = services.job_share(
            job=job, identifier=form.cleaned_data["username"], by=request.user
        )
    except ValidationError as exc:
        messages.error(request, "Not shared: " + " ".join(exc.messages))
    else:
        if isinstance(share, ShareInvitation):
            messages.success(
                request,
                f"Invitation mailed to {share.email}: whoever has this address sees the job, "
                "read-only, from their next sign-in, or once they sign up.",
            )
        else:
            messages.success(request, f"Shared read-only with {share.user.username}.")
    return redirect("job-detail", pk=job.pk)


@login_required
@require_POST
def job_invitation_revoke(request, pk, invitation_id):
    job = _owned(request, Job.objects.all(), pk)
    if not services.job_invitation_revoke(job=job, invitation_id=invitation_id):
        raise Http404("No such invitation")
    messages.success(request, "Invitation withdrawn.")
    return redirect("job-detail", pk=job.pk)


@login_required
@require_POST
def job_share_revoke(request, pk, user_id):
    job = _owned(request, Job.objects.all(), pk)
    if services.job_unshare(job=job, user_id=user_id):
        messages.success(request, "Share revoked.")
    else:
        messages.error(request, "This job was not shared with that user.")
    return redirect("job-detail", pk=job.pk)


def team_counts_section(request, team):
    """A team page's count of the team's jobs and datasets (accounts.pages): what its member
    sees, as the dashboard and the datasets list count them (deleted datasets left out)."""
    return {
        "jobs": Job.objects.visible_to(request.user).filter(team=team).count(),
        "datasets": Dataset.objects.visible_to(request.user).filter(team=team).count(),
    }
