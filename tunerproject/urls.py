from django.contrib import admin
from django.urls import include, path

from tunerproject import views

admin.site.site_header = "LLM Tuner operations"
admin.site.site_title = "LLM Tuner admin"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("api/v1/", include("tunerproject.api_urls")),
    path("openai/v1/", include("jobs.openai_api.urls")),
    path("", include("jobs.urls")),
]

handler400 = "tunerproject.views.bad_request"
handler403 = "tunerproject.views.permission_denied"
handler500 = "tunerproject.views.server_error"
