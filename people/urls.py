from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from papers.urls import CitationFormatConverter  # noqa: F401 (registers `citation`)
from people import views

app_name = "people"

urlpatterns: list[URLPattern | URLResolver] = [
    path("accounts/profile/", views.profile, name="profile"),
    path("accounts/profile/name", views.display_name, name="display-name"),
    path("accounts/profile/upvotes.<citation:fmt>", views.upvotes_export, name="upvotes-export"),
    path("accounts/profile/notifications", views.notifications, name="notifications"),
    path("accounts/profile/public", views.public_profile, name="public-profile"),
    path("u/<str:handle>", views.member, name="member"),
    path("u/<str:handle>/avatar.svg", views.avatar, name="avatar"),
    path("following", views.following, name="following"),
    path("for-you", views.for_you, name="for-you"),
    path("following/<str:kind>", views.follow, name="follow"),
    path("following/<str:kind>/remove", views.unfollow, name="unfollow"),
]
