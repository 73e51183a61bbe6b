"""Mail to the admins when something needs a person: a source that failed ALERT_FAILED_RUNS
runs in a row, or a weekday that passed with no new papers. Each problem is mailed at most
once a day (AlertSent's constraint decides, whichever process asks first)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from digests.periods import is_weekday
from operations import status
from operations.models import AlertSent
from papers.models import Paper

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Problem:
    key: str
    subject: str
    body: str


def problems(now: datetime) -> list[Problem]:
    found = []
    page = settings.SITE_URL + reverse("operations:status")
    for source in status.sources():
        if source.failing >= settings.ALERT_FAILED_RUNS:
            last = source.last
            found.append(
                Problem(
                    f"source:{source.source}",
                    f"Ingestion from {source.source} failed {source.failing} times in a row",
                    f"The last {source.failing} runs of {source.source} failed. The newest, "
                    f"started {last.started_at:%Y-%m-%d %H:%M} UTC, said:\n\n{last.error}\n\n"
                    f"Every run: {page}\n",
                )
            )
    yesterday = (now - timedelta(days=1)).date()
    if is_weekday(yesterday) and Paper.objects.exists():
        start = datetime.combine(yesterday, datetime.min.time(), tzinfo=now.tzinfo)
        new = Paper.objects.filter(created_at__gte=start, created_at__lt=start + timedelta(days=1))
        if not new.exists():
            found.append(
                Problem(
                    f"no-papers:{yesterday}",
                    f"No new papers on {yesterday:%A %b} {yesterday.day}",
                    f"No paper arrived on {yesterday:%A, %Y-%m-%d} (UTC), a weekday. The "
                    f"sources' last runs are on {page}\n",
                )
            )
    return found


def recipients() -> list[str]:
    """ADMIN_EMAILS, or else the active superusers' addresses."""
    if settings.ADMINS:
        return [email for _name, email in settings.ADMINS]
    superusers = get_user_model().objects.filter(is_superuser=True, is_active=True)
    return sorted({user.email for user in superusers if user.email})


def check(*, now: datetime | None = None) -> list[str]:
    """Mail each problem found that was not mailed today; the problems mailed."""
    now = now or timezone.now()
    to = recipients()
    mailed = []
    for problem in problems(now):
        if not to:
            logger.warning("alert not mailed (no ADMIN_EMAILS, no superuser): %s", problem.subject)
            continue
        try:
            with transaction.atomic():
                AlertSent.objects.create(
                    problem=problem.key, day=now.date(), subject=problem.subject
                )
                send_mail(f"[Daily Papers] {problem.subject}", problem.body, None, to)
        except IntegrityError:
            continue  # mailed already today
        logger.warning("alert mailed to %s: %s", ", ".join(to), problem.subject)
        mailed.append(problem.key)
    return mailed
