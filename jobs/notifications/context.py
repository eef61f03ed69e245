"""The notifications menu of every portal page (a template context processor): the newest
job endings of the signed-in user, read only when a page shows the menu."""

from django.utils.functional import SimpleLazyObject

from jobs.notifications import services


def notifications_menu(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"notifications_menu": SimpleLazyObject(lambda: services.notifications_menu(user=user))}
