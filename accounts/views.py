from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.tokens import default_token_generator
from django.contrib.auth.views import LoginView
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.views.decorators.http import require_POST

from accounts.forms import AfterResponsePasswordResetForm, SignUpForm, TokenForm
from accounts.lockout import LockoutAuthenticationForm
from accounts.models import ApiToken, AuditEvent
from accounts.pages import render_sections
from accounts.services import account_password_changed, account_sign_up
from accounts.throttles import portal_throttle

AUDIT_SHOWN = 20  # the newest account events on the profile page


class SignInView(LoginView):
    form_class = LockoutAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        """A locked sign-in is a 429 with Retry-After, as the token endpoint answers it."""
        response = super().form_invalid(form)
        wait = getattr(form, "locked_for", 0)
        if wait:
            response.status_code = 429
            response["Retry-After"] = str(max(1, round(wait)))
        return response


def signup(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    if not settings.SIGNUP_OPEN:
        return render(request, "accounts/signup_closed.html", status=403)
    if request.method == "POST":
        throttled = portal_throttle(request, "signup", who=request.POST.get("email"))
        if throttled:
            return throttled
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        account_sign_up(form=form, request=request)
        return redirect("signup-done")
    return render(request, "accounts/signup.html", {"form": form})


def signup_done(request):
    return render(request, "accounts/signup_done.html")


def signup_activate(request, uidb64, token):
    """The link from the sign-up mail: activates the account once and signs it in."""
    user = _user_from_uid(uidb64)
    if user is None or user.is_active or not default_token_generator.check_token(user, token):
        return render(request, "accounts/signup_link_invalid.html", status=400)
    user.is_active = True
    user.save(update_fields=["is_active"])
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, f"Welcome, {user.username}. Start by uploading a dataset.")
    return redirect("dashboard")


def _user_from_uid(uidb64):
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError):
        return None
    return get_user_model().objects.filter(pk=pk).first()


class PasswordResetView(auth_views.PasswordResetView):
    """Sends at most THROTTLE_PASSWORD_RESET_* mails per address asked for and per client,
    after the response."""

    form_class = AfterResponsePasswordResetForm

    def post(self, request, *args, **kwargs):
        throttled = portal_throttle(request, "password_reset", who=request.POST.get("email"))
        return throttled or super().post(request, *args, **kwargs)


class PasswordChangeView(auth_views.PasswordChangeView):
    def form_valid(self, form):
        response = super().form_valid(form)
        account_password_changed(user=form.user, request=self.request)
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    def form_valid(self, form):
        response = super().form_valid(form)
        account_password_changed(user=form.user, request=self.request)
        return response


@login_required
def profile(request):
    new_token = request.session.pop("new_token", None)
    return render(
        request,
        "accounts/profile.html",
        {
            "tokens": ApiToken.objects.for_user(request.user),
            "form": TokenForm(),
            "new_token": new_token,
            "audit_events": AuditEvent.objects.filter(user=request.user)[:AUDIT_SHOWN],
            "sections": render_sections("profile", request),  # storage, notifications (jobs)
        },
    )


@login_required
@require_POST
def token_create(request):
    form = TokenForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the token a name (up to 100 characters).")
        return redirect("profile")
    token, raw = ApiToken.issue(
        user=request.user,
        name=form.cleaned_data["name"],
        read_only=form.cleaned_data["read_only"],
        request=request,
    )
    # Shown once, on the next page; only the hash is kept.
    request.session["new_token"] = {"name": token.name, "key": raw}
    return redirect("profile")


@login_required
@require_POST
def token_rename(request, pk):
    token = get_object_or_404(ApiToken.objects.for_user(request.user), pk=pk)
    form = TokenForm(request.POST)
    if form.is_valid():
        token.name = form.cleaned_data["name"]
        token.save(update_fields=["name"])
        messages.success(request, f"Token renamed to “{token.name}”.")
    else:
        messages.error(request, "A token name must be 1 to 100 characters.")
    return redirect("profile")


@login_required
@require_POST
def token_revoke(request, pk):
    token = get_object_or_404(ApiToken.objects.for_user(request.user), pk=pk)
    token.revoke(request=request, why="revoked on the profile page")
    messages.success(request, f"Token “{token.name}” revoked; clients using it are now refused.")
    return redirect("profile")
