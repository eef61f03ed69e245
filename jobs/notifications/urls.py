from django.urls import path

from jobs.notifications import views

urlpatterns = [
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/email/", views.email_preference_update, name="notification-email"),
    path("webhooks/", views.webhook_create, name="webhook-create"),
    path("webhooks/<int:pk>/", views.webhook_detail, name="webhook-detail"),
    path("webhooks/<int:pk>/delete/", views.webhook_delete, name="webhook-delete"),
    path(
        "webhooks/deliveries/<int:pk>/redeliver/",
        views.webhook_redeliver,
        name="webhook-redeliver",
    ),
]
