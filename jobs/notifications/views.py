"""Portal pages of notifications: the menu's full list, email choices and webhooks (created and
listed on the profile page; one page per endpoint with its delivery log). A team admin may
register an endpoint for the team. Every lookup goes through Webhook.objects.visible_to: another
user's endpoint, or a team's for anyone but its admins, is a 404."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from jobs.models.notifications import EmailPreference, Notification, Webhook, WebhookDelivery
from jobs.notifications import services
from jobs.notifications.forms import EmailPreferenceForm, WebhookForm
from jobs.sharing import access

DELIVERIES_SHOWN = 50


def _profile(anchor):
    return redirect(reverse("profile") + f"#{anchor}")


@login_required
def notification_list(request):
    entries = Notification.objects.for_user(request.user).select_related("job")[:50]
    response = render(request, "jobs/notifications.html", {"entries": entries})
    services.notifications_mark_seen(user=request.user)
    return response


@login_required
@require_POST
def email_preference_update(request):
    form = EmailPreferenceForm(request.POST)
    form.is_valid()  # three checkboxes: always valid, unticked ones are False
    services.email_preference_update(user=request.user, **form.cleaned_data)
    messages.success(request, "Email choices saved.")
    return _profile("notifications")


@login_required
@require_POST
def webhook_create(request):
    form = WebhookForm(request.POST, user=request.user)
    if form.is_valid():
        fields = dict(form.cleaned_data)
        try:
            team = services.webhook_team_for(user=request.user, team_id=fields.pop("team", None))
            webhook = services.webhook_create(owner=request.user, team=team, **fields)
        except ValidationError as exc:
            for problem in exc.messages:
                form.add_error(None, problem)
        else:
            # Shown once, on the next page, as API tokens are.
            request.session["new_webhook"] = {"url": webhook.url, "secret": webhook.secret}
            return _profile("webhooks")
    request.session["webhook_form"] = {"data": request.POST.dict(), "errors": _errors(form)}
    request.session["webhook_form"]["data"]["events"] = request.POST.getlist("events")
    return _profile("webhooks")


def _errors(form):
    return [str(message) for messages_ in form.errors.values() for message in messages_]


@login_required
def webhook_detail(request, pk):
    webhook = access.get_visible_or_404(Webhook.objects.select_related("team"), request.user, pk)
    deliveries = webhook.deliveries.all()[:DELIVERIES_SHOWN]
    return render(
        request, "jobs/webhook_detail.html", {"webhook": webhook, "deliveries": deliveries}
    )


@login_required
@require_POST
def webhook_delete(request, pk):
    webhook = access.get_visible_or_404(Webhook.objects.select_related("team"), request.user, pk)
    services.webhook_delete(webhook=webhook)
    messages.success(request, f"Webhook {webhook.url} deleted; it receives nothing more.")
    return _profile("webhooks")


@login_required
@require_POST
def webhook_redeliver(request, pk):
    delivery = access.get_visible_or_404(WebhookDelivery.objects.all(), request.user, pk)
    services.webhook_redeliver(delivery=delivery)
    messages.success(request, f"{delivery.event_type} queued to be sent again.")
    return redirect("webhook-detail", delivery.webhook_id)


def profile_section(request):
    """The profile page's notifications section: email choices and webhooks (accounts.pages)."""
    user = request.user
    saved = request.session.pop("webhook_form", None)
    form = WebhookForm(saved["data"], user=user) if saved else WebhookForm(user=user)
    return {
        "email_form": EmailPreferenceForm(instance=EmailPreference.for_user(user)),
        "webhook_form": form,
        "webhook_errors": saved["errors"] if saved else [],
        "new_webhook": request.session.pop("new_webhook", None),
        "webhooks": Webhook.objects.visible_to(user).select_related("team"),
        "recent_deliveries": WebhookDelivery.objects.visible_to(user).select_related(
            "webhook", "webhook__team"
        )[:10],
    }
