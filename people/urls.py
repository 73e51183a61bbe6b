from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from people import views

app_name = "people"

urlpatterns: list[URLPattern | URLResolver] = [
    path("profile/", views.profile, name="profile"),
    path("profile/name", views.display_name, name="display-name"),
]
