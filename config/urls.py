from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from config.views import healthz, live

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("healthz/live", live, name="live"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("accounts/", include("accounts.urls")),
    path("api/", include("papers.api_urls")),
    path("digests/", include("digests.urls")),
    path("", include("papers.urls")),
]
