"""Scheduled ingestion: thin tasks around the services the `ingest` command runs."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from config.celery import retry_on_network, single_run
from papers.services.ingestion import papers_ingest_arxiv_rss, papers_ingest_hf

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
            wanted = [date.fromisoformat(d) for d in days]
        else:  # late additions land on yesterday's list too
            today = timezone.now().date()
            wanted = [today - timedelta(days=1), today]
        return papers_ingest_hf(days=wanted).status


@shared_task(name="papers.ingest_arxiv_listings", ignore_result=True, **retry_on_network())
def ingest_arxiv_listings(categories: list[str] | None = None) -> str:
    """Ingest the latest arXiv RSS listings of `categories` (default: ARXIV_CATEGORIES)."""
    with single_run("papers.ingest_arxiv_listings") as acquired:
        if not acquired:
            logger.info("ingest_arxiv_listings: another run holds the lock; skipped")
            return SKIPPED
        categories = list(categories or settings.ARXIV_CATEGORIES)
        return papers_ingest_arxiv_rss(categories=categories).status
