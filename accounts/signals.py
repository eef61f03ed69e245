from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from accounts import lockout


@receiver(user_login_failed)
def remember_failed_sign_in(sender, credentials, request=None, **kwargs):
    if getattr(request, "lockout_attempt", None) is not None:
        return  # lockout.begin_attempt already wrote this failure
    lockout.record_failure(credentials.get("username", ""), lockout.client_ip(request))


@receiver(user_logged_in)
def forget_failed_sign_ins(sender, request, user, **kwargs):
    lockout.clear_failures(user.get_username())
