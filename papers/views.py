from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from papers import selectors


def home(request: HttpRequest) -> HttpResponse:
    """The latest day that has papers."""
    day = selectors.latest_listed_day()
    papers = list(selectors.papers_for_day(day)) if day else []
    return render(request, "papers/day.html", {"day": day, "papers": papers})
