from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from people import views

app_name = "people"

urlpatterns: list[URLPattern | URLResolver] = [
    path("accounts/profile/", views.profile, name="profile"),
    path("accounts/profile/name", views.display_name, name="display-name"),
    path("accounts/profile/notifications", views.notifications, name="notifications"),
    path("u/<str:handle>", views.member, name="member"),
]
