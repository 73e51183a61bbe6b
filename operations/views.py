"""The operator's status page, for staff."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from operations import status
from operations.models import AlertSent


@never_cache
@staff_member_required
def status_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "operations/status.html",
        {
            "title": "Status",
            "status": status.current(),
            "alerts": AlertSent.objects.all()[:10],
        },
    )
