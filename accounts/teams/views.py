"""Portal pages for teams: the list with a create form, one team's page with its members.

A team is seen by its members (anyone else gets 404) and changed by its admins (403 for the
others), through the permission layer (accounts.teams.access)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.pages import render_sections
from accounts.teams import access, services
from accounts.teams.forms import MemberAddForm, MemberRoleForm, TeamForm
from accounts.teams.models import Team, TeamInvitation
from accounts.throttles import portal_throttle


def _team(request, pk, *, change=False):
    team = access.get_visible_or_404(Team.objects.all(), request.user, pk)
    if change:
        access.require_team_change(request.user, team)
    return team


def _say(request, exc):
    messages.error(request, " ".join(exc.messages))


@login_required
@require_http_methods(["GET", "POST"])
def team_list(request):
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_create(by=request.user, name=form.cleaned_data["name"])
        except ValidationError as exc:
            _say(request, exc)
        else:
            messages.success(request, f"Team “{team.name}” created: you are its admin.")
            return redirect("team-detail", pk=team.pk)
    memberships = request.user.memberships.select_related("team").order_by("team__name")
    return render(request, "accounts/team_list.html", {"form": form, "memberships": memberships})


@login_required
@require_GET
def team_detail(request, pk):
    team = _team(request, pk)
    context = {
        "team": team,
        "role": team.role_of(request.user),
        "is_admin": access.may_change_team(request.user, team),
        "members": team.memberships.select_related("user"),
        "invitations": team.invitations.pending().select_related("invited_by"),
        "add_form": MemberAddForm(),
        "role_choices": MemberRoleForm().fields["role"].choices,
        "sections": render_sections("team", request, team=team),  # its jobs and datasets (jobs)
    }
    return render(request, "accounts/team_detail.html", context)


@login_required
@require_POST
def team_rename(request, pk):
    team = _team(request, pk, change=True)
    form = TeamForm(request.POST)
    if form.is_valid():
        services.team_rename(team=team, name=form.cleaned_data["name"])
        messages.success(request, "Renamed.")
    else:
        messages.error(request, "Not renamed: a team needs a name of at most 100 characters.")
    return redirect("team-detail", pk=team.pk)


@login_required
@require_POST
def team_delete(request, pk):
    team = _team(request, pk, change=True)
    services.team_delete(team=team)
    messages.success(
        request, f"Deleted team “{team.name}”: its datasets and jobs went back to their owners."
    )
    return redirect("team-list")


@login_required
@require_POST
def team_member_add(request, pk):
    team = _team(request, pk, change=True)
    throttled = portal_throttle(request, "invite")
    if throttled:
        return throttled
    form = MemberAddForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not added: give a username or email and a role.")
        return redirect("team-detail", pk=team.pk)
    try:
        added = services.team_member_add(
            team=team,
            identifier=form.cleaned_data["username"],
            role=form.cleaned_data["role"],
            by=request.user,
        )
    except ValidationError as exc:
        _say(request, exc)
    else:
        if isinstance(added, TeamInvitation):
            messages.success(
                request,
                f"Invitation mailed to {added.email}: whoever has this address joins as "
                f"{added.get_role_display().lower()} at their next sign-in, or once they sign up.",
            )
        else:
            messages.success(request, f"Added {added.user.username} as {added.get_role_display()}.")
    return redirect("team-detail", pk=team.pk)


@login_required
@require_POST
def team_invitation_revoke(request, pk, invitation_id):
    team = _team(request, pk, change=True)
    if not services.team_invitation_revoke(team=team, invitation_id=invitation_id):
        raise Http404("No such invitation")
    messages.success(request, "Invitation withdrawn.")
    return redirect("team-detail", pk=team.pk)


def _membership(team, user_id):
    membership = team.memberships.select_related("user").filter(user_id=user_id).first()
    if membership is None:
        raise Http404("No such member")
    return membership


@login_required
@require_POST
def team_member_role(request, pk, user_id):
    team = _team(request, pk, change=True)
    membership = _membership(team, user_id)
    form = MemberRoleForm(request.POST)
    if form.is_valid():
        try:
            services.team_member_set_role(membership=membership, role=form.cleaned_data["role"])
        except ValidationError as exc:
            _say(request, exc)
        else:
            messages.success(
                request, f"{membership.user.username} is now {membership.get_role_display()}."
            )
    return redirect("team-detail", pk=team.pk)


@login_required
@require_POST
def team_member_remove(request, pk, user_id):
    """An admin removes a member; anyone may leave (remove themselves)."""
    team = _team(request, pk)
    if user_id != request.user.pk:
        access.require_team_change(request.user, team)
    membership = _membership(team, user_id)
    try:
        services.team_member_remove(membership=membership)
    except ValidationError as exc:
        _say(request, exc)
        return redirect("team-detail", pk=team.pk)
    if user_id == request.user.pk:
        messages.success(request, f"You left team “{team.name}”.")
        return redirect("team-list")
    messages.success(request, f"Removed {membership.user.username}.")
    return redirect("team-detail", pk=team.pk)
