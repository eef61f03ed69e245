"""Portal pages for jobs: dashboard, wizard, live job page, playground, comparison.

Every view starts from the jobs the user may see (`_get_job_for_user`, through
jobs.sharing.access), so anyone else's job is a 404; a view that changes the job also asks
jobs.sharing.access.may_change (a 403 for a team viewer or a read-only share).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from rest_framework.exceptions import APIException

from accounts.teams.models import Team
from accounts.throttles import portal_throttle
from jobs.fleet.queue_position import queue_standing
from jobs.models import Dataset, Evaluation, Job
from jobs.monitoring import comparison, live
from jobs.monitoring.comparison import LORA_ONLY
from jobs.playground import client, generation
from jobs.sharing import access
from jobs.sharing.forms import ShareForm, SpaceForm
from jobs.training.evaluation_summary import auto_pair, headline, job_evaluations
from jobs.training.forms import JobLaunchForm, JobNotesForm, PlaygroundForm, launch_initial_from
from jobs.training.responses import checkpoint_zip_response, model_file_response
from jobs.training.serializers import ModelQuery
from jobs.training.services import job_cancel, job_delete, job_launch, job_pause, job_resume
from tunerproject.ids import DB_INT_MAX, parse_int

DASHBOARD_PAGE_SIZE = 25


def _get_job_for_user(request, pk, *, change=False):
    queryset = Job.objects.select_related("dataset", "base_model", "parent_job", "team", "owner")
    job = access.get_visible_or_404(queryset, request.user, pk)
    if change:
        access.require_change(request.user, job)
    return job


@require_GET
def dashboard(request):
    """The user's jobs; a visitor who is not signed in gets the landing page instead."""
    if not request.user.is_authenticated:
        return render(request, "landing.html")
    visible = Job.objects.visible_to(request.user)
    jobs = visible.select_related("dataset", "base_model", "team", "owner")
    status = request.GET.get("status", "")
    teams = list(Team.objects.visible_to(request.user))
    space = request.GET.get("space", "")
    jobs = _in_space(jobs, space, request.user, teams)
    # PostgreSQL refuses a NUL character in a text comparison (a 500), and no name holds one.
    search = request.GET.get("q", "").replace("\x00", "").strip()
    if status in Job.Status.values:
        jobs = jobs.filter(status=status)
    if search:
        jobs = jobs.filter(name__icontains=search)
    page = Paginator(jobs, DASHBOARD_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "jobs": page.object_list,
        "status": status,
        "search": search,
        "statuses": Job.Status.choices,
        "has_any_job": visible.exists(),
        "has_dataset": Dataset.objects.usable_by(request.user).usable().exists(),
        "team_filters": [(f"team-{team.pk}", team.name) for team in teams],
        "space": space,
    }
    return render(request, "jobs/dashboard.html", context)


def _in_space(jobs, space, user, teams):
    """The dashboard's space filter: "personal" (mine, in no team), "shared" (shared with me),
    "team-<id>" (one of my teams); anything else shows every job the user may see."""
    if space == "personal":
        return jobs.filter(owner=user, team__isnull=True)
    if space == "shared":
        return jobs.filter(shares__user=user)
    team_id = parse_int(space.removeprefix("team-")) if space.startswith("team-") else None
    if team_id is not None and team_id in {team.pk for team in teams}:
        return jobs.filter(team_id=team_id)
    return jobs


@login_required
@require_http_methods(["GET", "POST"])
def job_new(request):
    """The new-job wizard; without JavaScript it is a plain form that launches on submit."""
    initial = launch_initial_from(request)
    clone_notes = initial.pop("clone_notes", [])
    form = JobLaunchForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST":
        throttled = portal_throttle(request, "launch")  # counted as the API's launches are
        if throttled is not None:
            return throttled
    if request.method == "POST" and form.is_valid():
        try:
            job = job_launch(owner=request.user, **form.launch_arguments())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            # The job page hides this once the job has started (static/js/job_live.js).
            messages.success(request, f"Job “{job.name}” is queued.", extra_tags="queued-note")
            return redirect("job-detail", pk=job.pk)
    context = {
        "form": form,
        "lora_fields": LORA_ONLY,
        "unavailable_models": [m for m in form.catalog if not m["available"]],
        "estimate_url": reverse("api-job-estimate"),
        "clone_notes": clone_notes,
    }
    return render(request, "jobs/job_new.html", context)


@login_required
@require_GET
def job_detail(request, pk):
    job = _get_job_for_user(request, pk)
    events = live.log_tail(job)
    checkpoints = live.checkpoints_after(job)
    owner_view = access.may_manage(request.user, job)
    context = {
        "job": job,
        "can_change": access.may_change(request.user, job),
        "space_form": SpaceForm(user=request.user, initial={"team": job.team_id or ""})
        if owner_view
        else None,
        "share_form": ShareForm() if owner_view else None,
        "shares": job.shares.select_related("user") if owner_view else [],
        "share_invitations": job.share_invitations.pending() if owner_view else [],
        "notes_form": JobNotesForm(instance=job),
        "comparison": comparison.estimate_against_actual(job),
        "hyperparameters": comparison.hyperparameter_rows(job),
        "events": events,
        "last_event_id": events[-1].id if events else 0,
        "checkpoints": checkpoints,
        "best_checkpoint": _best_checkpoint(checkpoints),
        "last_checkpoint_id": checkpoints[-1].id if checkpoints else 0,
        "queue": queue_standing(job),
        **_evaluation_context(request.user, job),
    }
    return render(request, "jobs/job_detail.html", context)


def _evaluation_context(user, job):
    """The job's evaluation card: the automatic evaluation's headline, and the evaluations of
    its model that the user may open (a read-only share sees the line, not the pages)."""
    evaluations = job_evaluations(job)
    ids = [e.pk for e in evaluations]
    visible = set(
        Evaluation.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True)
    )
    shown = [e for e in evaluations if e.pk in visible]
    tuned, base = auto_pair(shown)
    return {
        "evaluation_headline": headline(job, evaluations),
        "tuned_evaluation": tuned,
        "base_evaluation": base,
        "other_evaluations": [e for e in shown if e not in (tuned, base)],
    }


def _best_checkpoint(checkpoints):
    """The checkpoint with the lowest eval loss (the first of equals), or None. The final model
    competes too: when it is the best, no kept checkpoint is marked best."""
    scored = [c for c in checkpoints if c.eval_loss is not None]
    return min(scored, key=lambda c: (c.eval_loss, c.step)) if scored else None


@login_required
@require_GET
def job_live(request, pk):
    """What changed since the page's last poll: progress plus only the new rows."""
    cursors = {
        "after_metric": live.int_param(request.GET, "after_metric", 0),
        "after_step": live.int_param(request.GET, "after_step", -1),
        "after_event": live.int_param(request.GET, "after_event", 0),
        "after_checkpoint": live.int_param(request.GET, "after_checkpoint", 0),
    }
    # This runs every 1.5 s for every open job page: one query in the usual case.
    job = None
    if pk <= DB_INT_MAX:  # a larger id overflows the driver instead of matching nothing
        job = live.job_with_news(user=request.user, pk=pk, **cursors)
    if job is None:
        raise Http404("No such job")
    return JsonResponse(live.live_payload(job, **cursors))


@login_required
@require_POST
def job_update(request, pk):
    job = _get_job_for_user(request, pk, change=True)
    form = JobNotesForm(request.POST, instance=job)
    if form.is_valid():
        form.save()
        messages.success(request, "Saved.")
    else:
        messages.error(
            request, "Not saved: " + " ".join(e for errs in form.errors.values() for e in errs)
        )
    return redirect("job-detail", pk=job.pk)


def _job_action(request, pk, service, said):
    """Run a job service (cancel, pause, resume) on one of the user's jobs and say how it went:
    `said(job)` words the success, a refusal shows its reason; back to the job page either way.
    Someone who may only look gets a 403."""
    job = _get_job_for_user(request, pk, change=True)
    try:
        job = service(job=job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, said(job))
    return redirect("job-detail", pk=job.pk)


@login_required
@require_POST
def job_cancel_view(request, pk):
    return _job_action(
        request, pk, job_cancel, lambda job: "Cancelling: the job stops after its current step."
    )


def _paused_message(job):
    if job.status == Job.Status.PAUSED:  # it had not started: held at once
        return "Paused. Resume queues it again."
    return "Pausing: the job writes a checkpoint and stops."


@login_required
@require_POST
def job_pause_view(request, pk):
    return _job_action(request, pk, job_pause, _paused_message)


@login_required
@require_POST
def job_resume_view(request, pk):
    return _job_action(
        request,
        pk,
        job_resume,
        lambda job: "Resumed: the job continues from its newest checkpoint.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def job_delete_view(request, pk):
    """GET asks for confirmation; POST deletes a finished job."""
    job = _get_job_for_user(request, pk, change=True)
    if request.method == "POST":
        try:
            job_delete(job=job)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("job-detail", pk=job.pk)
        messages.success(request, f"Deleted job “{job.name}”.")
        return redirect("dashboard")
    return render(request, "jobs/job_confirm_delete.html", {"job": job})


@login_required
@require_GET
def job_model_download(request, pk):
    """The model zip, or (?format=gguf&quant=…, ?format=modelfile) its GGUF files."""
    job = _get_job_for_user(request, pk)
    query = ModelQuery(data=request.GET)
    if not query.is_valid():
        messages.error(request, " ".join(str(e) for errs in query.errors.values() for e in errs))
        return redirect("job-detail", pk=job.pk)
    try:
        return model_file_response(job, **query.validated_data)
    except APIException as exc:
        messages.error(request, str(exc.detail))
        return redirect("job-detail", pk=job.pk)


@login_required
@require_GET
def checkpoint_model_download(request, pk, step):
    job = _get_job_for_user(request, pk)
    try:
        return checkpoint_zip_response(job, step)
    except APIException as exc:
        messages.error(request, str(exc.detail))
        return redirect("job-detail", pk=job.pk)


@login_required
@require_http_methods(["GET", "POST"])
def job_playground(request, pk):
    """Prompt the fine-tuned model beside its base; JavaScript posts to the API instead."""
    job = _get_job_for_user(request, pk)
    is_chat = job.dataset.kind == Dataset.Kind.CHAT
    form = PlaygroundForm(request.POST or None)
    if not is_chat:
        del form.fields["system"]
    result, error = None, None
    if request.method == "POST":
        throttled = portal_throttle(request, "generate")  # as the API's generations are
        if throttled is not None:
            return throttled
    if request.method == "POST" and form.is_valid():
        try:
            result = generation.generate(job=job, user=request.user, **form.cleaned_data)
        except (
            generation.ModelNotReady,
            generation.NotAChatModel,
            generation.Busy,
            client.Unavailable,
        ) as exc:
            error = str(exc)
    context = {
        "job": job,
        "form": form,
        "result": result,
        "error": error,
        "generate_url": reverse("api-job-generate", args=[job.pk]),
        "is_chat": is_chat,
    }
    return render(request, "jobs/playground.html", context)


@login_required
@require_GET
def job_compare(request):
    jobs = Job.objects.visible_to(request.user).select_related("dataset", "base_model")
    ids = [i for i in map(parse_int, request.GET.getlist("ids")) if i is not None]
    chosen = list(jobs.filter(pk__in=ids).order_by("created_at"))
    context = {"all_jobs": jobs[:200], "chosen": chosen, "chosen_ids": [j.pk for j in chosen]}
    if len(chosen) >= 2:
        context.update(comparison.compare(chosen))
        context["evaluation_pair"] = _tuned_pair(request.user, chosen[:2])
    return render(request, "jobs/compare.html", context)


def _tuned_pair(user, jobs):
    """The succeeded automatic evaluations of two jobs' models on the same dataset, which the
    compare page links to side by side; None when either has none the user may open."""
    pair = []
    for job in jobs:
        tuned, _ = auto_pair(job_evaluations(job))
        if tuned is None or tuned.status != Evaluation.Status.SUCCEEDED:
            return None
        pair.append(tuned)
    if pair[0].dataset_id != pair[1].dataset_id:
        return None
    visible = Evaluation.objects.visible_to(user).filter(pk__in=[e.pk for e in pair])
    return pair if visible.count() == 2 else None
