from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from accounts import views

app_name = "accounts"

urlpatterns: list[URLPattern | URLResolver] = [
    path("profile/tokens", views.token_create, name="token-create"),
    path("profile/tokens/<int:token_id>/revoke", views.token_revoke, name="token-revoke"),
]
