from __future__ import annotations

from django.urls import path

from digests import views

app_name = "digests"

urlpatterns = [
    path("", views.subscribe, name="subscribe"),
    path("me", views.mine, name="mine"),
    path("confirm/<str:token>", views.confirm, name="confirm"),
    path("manage/<slug:token>", views.manage, name="manage"),
    path("unsubscribe/<slug:token>", views.unsubscribe, name="unsubscribe"),
]
