from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from tunerproject.views import api_not_found

urlpatterns = [
    path("", include("accounts.api_urls")),
    path("", include("jobs.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Split: the page's start-up script is served as a file, so the CSP needs no inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Last: whatever the patterns above do not match is a JSON 404, not an HTML page.
    re_path(r"^(?P<unmatched>(?s:.*))$", api_not_found),
]
