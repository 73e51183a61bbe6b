"""Scheduled ingestion: thin tasks around the services the `ingest` command runs."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from accounts.models import User
from config.celery import retry_on_network, single_run
from papers import embeddings, foryou, vectors
from papers.models import Harvest
from papers.services.ingestion import (
    HarvestBusy,
    ingest_runs_mark_interrupted,
    papers_harvest_oai,
    papers_ingest_arxiv_rss,
    papers_ingest_hf,
)

logger = logging.getLogger(__name__)

SKIPPED = "skipped"


def _earlier_runs_interrupted(source: str) -> None:
    """Under the job's lock: runs of its source still "running" from before the lock's
    lifetime (the task time limit, which no task outlives) belong to a dead process. (An
    `ingest` command of that source running longer is shown so until it ends.)"""
    lifetime = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    ingest_runs_mark_interrupted(source=source, started_before=timezone.now() - lifetime)


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
        _earlier_runs_interrupted("hf")
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
        _earlier_runs_interrupted("arxiv-rss")
        categories = list(categories or settings.ARXIV_CATEGORIES)
        return papers_ingest_arxiv_rss(categories=categories).status


# Datestamps are days in the repository's time zone, and a record may be stamped a little
# after its change: each daily harvest starts a day before the last one ended.
HARVEST_OVERLAP = timedelta(days=1)


@shared_task(name="papers.harvest_oai", ignore_result=True)
def harvest_oai(sets: list[str] | None = None) -> str:
    """Harvest what changed on arXiv since the last harvest of each of `sets` (default:
    ARXIV_OAI_SETS; "all" for all of arXiv). An unfinished harvest resumes first."""
    sets = list(sets or settings.ARXIV_OAI_SETS)
    if not sets:
        return "no sets to harvest (ARXIV_OAI_SETS)"
    with single_run("papers.harvest_oai") as acquired:
        if not acquired:
            logger.info("harvest_oai: another run holds the lock; skipped")
            return SKIPPED
        statuses = []
        for name in sets:
            set_spec = "" if name.lower() == "all" else name
            since = _harvest_since(settings.ARXIV_OAI_FORMAT, set_spec)
            try:
                run = papers_harvest_oai(
                    since=since,
                    until=None,
                    metadata_prefix=settings.ARXIV_OAI_FORMAT,
                    set_spec=set_spec,
                )
            except HarvestBusy as exc:
                logger.info("harvest_oai %s: %s", name, exc)
                statuses.append(f"{name}: {SKIPPED}")
                continue
            statuses.append(f"{name}: {run.status}")
        return "; ".join(statuses)


def _harvest_since(metadata_prefix: str, set_spec: str) -> date:
    """The first datestamp of the next daily harvest: the day the last one finished, less
    the overlap (or yesterday, for the first)."""
    last = (
        Harvest.objects.filter(
            metadata_prefix=metadata_prefix, set_spec=set_spec, status=Harvest.Status.SUCCEEDED
        )
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    if last is None:
        return timezone.now().date() - timedelta(days=1)
    return last.date() - HARVEST_OVERLAP


@shared_task(name="papers.embed_papers", ignore_result=True)
def embed_papers() -> str:
    """Embed the papers that have no vector by the current model, or whose text changed:
    queued after every ingestion, one run at a time (a run finds what the others left)."""
    with single_run("papers.embed_papers") as acquired:
        if not acquired:
            return SKIPPED
        return f"{embeddings.embed_stale():,} papers embedded"


@shared_task(name="papers.build_vector_index", ignore_result=True)
def build_vector_index() -> str:
    """Rebuild the approximate index each night (VECTOR_INDEX=hnsw): the vectors written
    since the last build are searched exactly, and their number only grows."""
    if settings.VECTOR_INDEX != "hnsw":
        return SKIPPED
    with single_run("papers.build_vector_index") as acquired:
        if not acquired:
            return SKIPPED
        return f"{vectors.build_graph():,} papers in the graph"


@shared_task(name="papers.refresh_taste", ignore_result=True)
def refresh_taste(member_id: int) -> None:
    """Rebuild a member's "For you" taste after they saved or followed something."""
    member = User.objects.filter(pk=member_id, is_active=True).first()
    if member is not None:
        foryou.taste(member)
