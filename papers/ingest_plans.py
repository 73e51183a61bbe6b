"""What to fetch for an ingestion, shared by the `ingest` command and the scheduled tasks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from papers.models import IngestRun
from papers.services import papers_ingest
from papers.sources import arxiv, files, hf
from papers.sources.records import ParsedItem, split_arxiv_id


@dataclass(frozen=True, slots=True)
class IngestPlan:
    source: str
    parameters: dict[str, Any]
    fetch: Callable[[], list[ParsedItem]]

    def run(self) -> IngestRun:
        """Fetch and upsert through papers_ingest; the IngestRun says how it went."""
        return papers_ingest(source=self.source, parameters=self.parameters, fetch=self.fetch)


def hf_days(days: Sequence[date]) -> IngestPlan:
    """Hugging Face daily papers of these days."""
    days = list(days)

    def fetch() -> list[ParsedItem]:
        items: list[ParsedItem] = []
        for day in days:
            items.extend(hf.fetch_daily_papers(day))
        return items

    return IngestPlan("hf", {"days": [d.isoformat() for d in days]}, fetch)


def hf_recent(today: date) -> IngestPlan:
    """Hugging Face daily papers of yesterday and today (late additions land on both)."""
    return hf_days([today - timedelta(days=1), today])


def arxiv_categories(categories: list[str], since: date, until: date) -> IngestPlan:
    """arXiv API: papers submitted to any of `categories` between two dates (inclusive)."""
    parameters = {"categories": categories, "since": str(since), "until": str(until)}
    return IngestPlan(
        "arxiv", parameters, lambda: arxiv.fetch_by_category(categories, since, until)
    )


def arxiv_ids(ids: list[str]) -> IngestPlan:
    """arXiv API: papers by id (a version suffix is dropped)."""
    bare = [split_arxiv_id(i)[0] for i in ids]
    return IngestPlan("arxiv", {"ids": bare}, lambda: arxiv.fetch_by_ids(bare))


def arxiv_rss(categories: list[str]) -> IngestPlan:
    """arXiv RSS: the latest announcements (new and cross-listed) of `categories`."""
    return IngestPlan("arxiv-rss", {"categories": categories}, lambda: arxiv.fetch_rss(categories))


def local_file(path: Path) -> IngestPlan:
    """A local HF JSON, arXiv Atom or RSS file."""
    return IngestPlan("file", {"path": str(path)}, lambda: files.read_file(path))
