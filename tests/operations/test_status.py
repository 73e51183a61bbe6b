"""The operator's status page and the alerts: a failing source shows on the page, and the
admins get one mail about it a day, however often the check runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from broadcasts.models import Channel, Post
from config.celery import beat_schedule
from digests.models import Delivery, Subscription
from operations import alerts, tasks
from operations.models import AlertSent
from papers.models import Harvest, IngestRun, Paper
from tests.factories import PaperFactory, UserFactory

pytestmark = pytest.mark.django_db

WEDNESDAY = datetime(2026, 6, 17, 9, 50, tzinfo=UTC)


@pytest.fixture
def staff(client):
    member = UserFactory(username="operator", is_staff=True, is_superuser=True)
    client.force_login(member)
    return member


def failing_runs(source: str, count: int, error: str = "HTTP 503 from the source") -> None:
    for _ in range(count):
        IngestRun.objects.create(source=source, status=IngestRun.Status.FAILED, error=error)


def test_the_page_shows_sources_papers_digests_channels_queue_and_cache(client, staff):
    failing_runs("hf", 3)
    IngestRun.objects.create(source="arxiv-rss", status=IngestRun.Status.SUCCEEDED, created=40)
    PaperFactory()
    subscription = Subscription.objects.create(email="a@example.org")
    Delivery.objects.create(
        subscription=subscription, frequency="daily", period="2026-06-12", status="sent"
    )
    Delivery.objects.create(
        subscription=Subscription.objects.create(email="b@example.org"),
        frequency="daily",
        period="2026-06-12",
        status="failed",
    )
    Harvest.objects.create(
        metadata_prefix="arXivRaw", set_spec="cs", pages=1234, records=1_234_000, token="t|1"
    )
    hook = Channel.objects.create(name="#papers", kind="slack", url="https://hooks.example.org/x")
    Post.objects.create(channel=hook, period="2026-06-12", status="failed", error="HTTP 404")
    client.get("/")  # a cached page: the cache has lookups to count

    page = client.get(reverse("operations:status"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "failed 3 times in a row" in text
    assert "HTTP 503 from the source" in text
    assert "arxiv-rss" in text
    assert "The newest paper arrived" in text
    assert "daily 2026-06-12" in text
    assert "#papers" in text
    assert "HTTP 404" in text
    assert "of lookups answered without building" in text
    assert "Queue" in text
    assert "cs (arXivRaw)" in text
    assert "<td>running</td><td>1234</td>" in text


def test_the_page_is_for_staff_only(client):
    url = reverse("operations:status")
    assert client.get(url).status_code == 302  # to the admin's sign-in
    client.force_login(UserFactory(username="reader"))
    answer = client.get(url)
    assert answer.status_code == 302
    assert "/admin/login/" in answer["Location"]


def papers_arrived(when: datetime) -> None:
    paper = PaperFactory()
    Paper.objects.filter(pk=paper.pk).update(created_at=when)


def test_a_failing_source_is_mailed_to_the_admins_once_a_day(settings, mailoutbox):
    settings.ADMINS = [("ops@example.org", "ops@example.org")]
    for day in range(3):  # papers arrive each day (from another source): only hf is a problem
        papers_arrived(WEDNESDAY - timedelta(hours=20) + timedelta(days=day))
    IngestRun.objects.create(source="hf", status=IngestRun.Status.SUCCEEDED, created=12)
    failing_runs("hf", 2)
    assert alerts.check(now=WEDNESDAY) == []  # two failures: not yet
    failing_runs("hf", 1)
    assert alerts.check(now=WEDNESDAY) == ["source:hf"]
    for hour in range(1, 10):
        assert alerts.check(now=WEDNESDAY + timedelta(hours=hour)) == []
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["ops@example.org"]
    assert mail.subject == "[Daily Papers] Ingestion from hf failed 3 times in a row"
    assert "HTTP 503 from the source" in mail.body
    assert "/admin/status/" in mail.body
    # Still failing the next day: one more mail.
    assert alerts.check(now=WEDNESDAY + timedelta(days=1)) == ["source:hf"]
    assert len(mailoutbox) == 2
    # A run that works ends the problem.
    IngestRun.objects.create(source="hf", status=IngestRun.Status.SUCCEEDED)
    assert alerts.check(now=WEDNESDAY + timedelta(days=2)) == []


def test_a_weekday_with_no_new_papers_is_mailed_once(settings, mailoutbox):
    settings.ADMINS = []
    UserFactory(username="root", is_superuser=True, email="root@example.org")
    PaperFactory()
    Paper.objects.update(created_at=WEDNESDAY - timedelta(days=3))  # last arrived Sunday
    assert alerts.check(now=WEDNESDAY) == ["no-papers:2026-06-16"]
    assert alerts.check(now=WEDNESDAY + timedelta(hours=3)) == []
    assert [m.to for m in mailoutbox] == [["root@example.org"]]
    assert mailoutbox[0].subject == "[Daily Papers] No new papers on Tuesday Jun 16"
    # Sunday was not a weekday: Monday morning says nothing.
    assert alerts.check(now=datetime(2026, 6, 15, 9, tzinfo=UTC)) == []
    assert AlertSent.objects.count() == 1


def test_an_alert_whose_mail_fails_is_tried_again(settings, monkeypatch):
    settings.ADMINS = [("ops@example.org", "ops@example.org")]
    failing_runs("arxiv", 3)

    def broken(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(alerts, "send_mail", broken)
    with pytest.raises(ConnectionRefusedError):
        alerts.check(now=WEDNESDAY)
    assert AlertSent.objects.count() == 0  # not recorded: the next check mails it


def test_the_check_runs_hourly(settings, mailoutbox):
    settings.ADMINS = [("ops@example.org", "ops@example.org")]
    failing_runs("hf", 3)
    assert beat_schedule()["check-health"]["task"] == "operations.check_health"
    assert tasks.check_health() == "1 alerts mailed"
    assert tasks.check_health() == "0 alerts mailed"


def test_the_last_digest_periods_are_found_without_reading_every_delivery():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from operations.status import digest_periods

    subscribers = [Subscription.objects.create(email=f"s{n}@example.org") for n in range(2)]
    days = ["2026-06-02", "2026-06-03", "2026-06-04", "2026-06-08", "2026-06-09", "2026-06-10"]
    for period in [*days, "2026-06-11"]:
        for subscriber in subscribers:
            Delivery.objects.create(
                subscription=subscriber, frequency="daily", period=period, status="sent"
            )
    for period in ("2026-W22", "2026-W23"):
        Delivery.objects.create(
            subscription=subscribers[0], frequency="weekly", period=period, status="failed"
        )

    with CaptureQueriesContext(connection) as queries:
        shown = digest_periods()

    # Newest first by the last day each covers: the week of Jun 1-7 falls between days.
    assert [(p.frequency, p.period) for p in shown] == [
        ("daily", "2026-06-11"),
        ("daily", "2026-06-10"),
        ("daily", "2026-06-09"),
        ("daily", "2026-06-08"),
        ("weekly", "2026-W23"),
        ("daily", "2026-06-04"),
    ]
    assert shown[0].counts == {"sent": 2}
    assert shown[4].counts == {"failed": 1}
    # Each query reads a frequency's or the shown periods' rows, never the whole table.
    reads = [q["sql"] for q in queries.captured_queries if "digests_delivery" in q["sql"]]
    assert reads
    assert all(" WHERE " in sql for sql in reads)
