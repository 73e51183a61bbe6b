from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from accounts import views
from accounts.token_views import token_urlpatterns

app_name = "accounts"

urlpatterns: list[URLPattern | URLResolver] = [
    path("profile/", views.profile, name="profile"),
    path("profile/name", views.display_name, name="display-name"),
]
urlpatterns += token_urlpatterns
