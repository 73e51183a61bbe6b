"""The hourly look at the site's health (operations/alerts.py)."""

from __future__ import annotations

from celery import shared_task

from config.celery import single_run
from operations import alerts

SKIPPED = "skipped"


@shared_task(name="operations.check_health", ignore_result=True)
def check_health() -> str:
    """Mail the admins about what needs a person, at most once a day per problem."""
    with single_run("operations.check_health") as acquired:
        if not acquired:
            return SKIPPED
        mailed = alerts.check()
        return f"{len(mailed)} alerts mailed"
