from __future__ import annotations

from django.urls import path

from operations.views import status_page

app_name = "operations"
urlpatterns = [path("", status_page, name="status")]
