from __future__ import annotations

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from config.views import healthz, live, metrics

# The admin's own login form would take any number of password guesses and skip the
# second factor: staff sign in through allauth (rate-limited, two-factor) instead.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

# Django tries the routes in this order on every request: what readers ask most comes
# first, the API and the papers' pages (no route of theirs matches another's path). A feed's
# address was resolved after some 60 others, 34 us of each cached page's 0.4 ms.
urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("healthz/live", live, name="live"),
    path("metrics", metrics, name="metrics"),
    path("api/", include("api.urls")),
    path("", include("papers.urls")),
    path("admin/status/", include("operations.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("accounts/", include("accounts.urls")),
    path("", include("people.urls")),
    path("digests/", include("digests.urls")),
    path("", include("discussions.urls")),
    path("", include("readinglists.urls")),
]
