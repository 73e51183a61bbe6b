"""The periodic post of the top papers to team channels (one run at a time)."""

from __future__ import annotations

from celery import shared_task

from broadcasts.services import post_due as posts_send_due
from config.celery import single_run

SKIPPED = "skipped"


@shared_task(name="broadcasts.post_due", ignore_result=True)
def post_due() -> str:
    """Every few minutes: plan the posts whose period is due and send those whose time
    came (new ones, and retries after a 429 or a 5xx)."""
    with single_run("broadcasts.post_due") as acquired:
        if not acquired:
            return SKIPPED
        return str(posts_send_due())
