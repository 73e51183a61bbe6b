"""Reads of papers for pages, feeds and the API."""

from __future__ import annotations

from datetime import date

from papers.models import Paper, PaperQuerySet


def latest_listed_day() -> date | None:
    """The most recent day that has visible papers."""
    return (
        Paper.objects.visible().order_by("-listed_on").values_list("listed_on", flat=True).first()
    )


def papers_for_day(day: date) -> PaperQuerySet:
    """The visible papers listed on `day`, most votes first."""
    return Paper.objects.visible().listed_on(day).by_votes()
