"""Top-level routes: the versioned API, its schema and docs, probes, and the admin."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core import views as core_views
from core.views import json_require_safe

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("api/v1/auth/", include("accounts.urls")),
    path("api/v1/", include("board.urls")),
    # Read-only: any other method is a JSON 405 (their renderers would answer YAML or HTML).
    path("api/schema/", json_require_safe(SpectacularAPIView.as_view()), name="schema"),
    path(
        "api/docs/",
        json_require_safe(SpectacularSwaggerView.as_view(url_name="schema")),
        name="swagger-ui",
    ),
    path(settings.ADMIN_URL, admin.site.urls),
]

# With DEBUG off Django would render HTML error pages; this is an API, so errors are JSON.
handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"
