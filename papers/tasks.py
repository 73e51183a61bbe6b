"""Scheduled ingestion: thin tasks around the plans the `ingest` command runs."""

from __future__ import annotations

import logging
from datetime import date

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from config.celery import retry_on_network, single_run
from papers import ingest_plans

logger = logging.getLogger(__name__)

SKIPPED = "skipped"


@shared_task(name="papers.ingest_hf", ignore_result=True, **retry_on_network())
def ingest_hf(days: list[str] | None = None) -> str:
    """Ingest Hugging Face daily papers of `days` (ISO dates; default: yesterday and today).

    The sources retry network failures with backoff and jitter themselves; a run that still
    fails is recorded as a failed IngestRun and the next scheduled run tries again.
    """
    with single_run("papers.ingest_hf") as acquired:
        if not acquired:
            logger.info("ingest_hf: another run holds the lock; skipped")
            return SKIPPED
        if days:
            plan = ingest_plans.hf_days([date.fromisoformat(d) for d in days])
        else:
            plan = ingest_plans.hf_recent(timezone.now().date())
        return plan.run().status


@shared_task(name="papers.ingest_arxiv_listings", ignore_result=True, **retry_on_network())
def ingest_arxiv_listings(categories: list[str] | None = None) -> str:
    """Ingest the latest arXiv RSS listings of `categories` (default: ARXIV_CATEGORIES)."""
    with single_run("papers.ingest_arxiv_listings") as acquired:
        if not acquired:
            logger.info("ingest_arxiv_listings: another run holds the lock; skipped")
            return SKIPPED
        plan = ingest_plans.arxiv_rss(list(categories or settings.ARXIV_CATEGORIES))
        return plan.run().status
