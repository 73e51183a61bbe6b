from __future__ import annotations

from django.urls import path

from papers import views

app_name = "papers"

urlpatterns = [
    path("", views.home, name="home"),
    path("papers", views.home, name="latest"),
]
