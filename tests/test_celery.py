"""Celery: configuration, the beat schedule, the lock around periodic jobs, and tasks on a
real worker over the real Redis when REDIS_URL is set (CI), eagerly otherwise.

With REDIS_URL set, an unreachable Redis fails these tests: nothing is skipped.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from werkzeug import Request, Response

import broadcasts.tasks  # noqa: F401 - registers its task, as the worker's autodiscovery does
import operations.tasks  # noqa: F401 - the same
from config.celery import app as celery_app
from config.celery import beat_schedule, single_run
from digests import tasks as digest_tasks
from digests.mail import PermanentMailError, TransientMailError
from digests.models import Delivery
from papers import tasks as paper_tasks
from papers.models import IngestRun, Paper
from tests.conftest import HF_DAILY
from tests.digests.conftest import smtp  # noqa: F401 - the local SMTP server fixture

# The fixture imported above is used by name as an argument below.
# ruff: noqa: F811
from tests.digests.factories import SubscriptionFactory
from tests.factories import PaperFactory

REAL_WORKER = bool(django_settings.REDIS_URL)


@pytest.fixture(autouse=True)
def _eager_celery():
    """Tasks go as configured here: to the real broker and worker when REDIS_URL is set."""


def test_configuration_follows_the_house_rules():
    conf = celery_app.conf
    assert conf.task_serializer == "json"
    assert conf.result_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit
    assert conf.timezone == "UTC"


def test_redis_is_the_broker_when_set_and_tasks_run_eagerly_without_it():
    if REAL_WORKER:
        assert celery_app.conf.broker_url == django_settings.REDIS_URL
        assert celery_app.conf.task_always_eager is False
    else:
        assert celery_app.conf.broker_url == "memory://"
        assert celery_app.conf.task_always_eager is True


def test_beat_schedule_has_every_job_at_the_times_from_settings(settings):
    settings.INGEST_HF_EVERY_MINUTES = 30
    settings.ARXIV_INGEST_HOUR = 4
    settings.DIGEST_DAILY_HOUR = 6
    settings.DIGEST_WEEKLY_HOUR = 8
    settings.DIGEST_RETRY_EVERY_MINUTES = 5
    settings.VECTOR_INDEX_HOUR = 3
    settings.ARXIV_OAI_HOUR = 7

    schedule = beat_schedule()

    assert {name: entry["task"] for name, entry in schedule.items()} == {
        "ingest-hf-daily-papers": "papers.ingest_hf",
        "ingest-arxiv-listings": "papers.ingest_arxiv_listings",
        "harvest-arxiv-oai": "papers.harvest_oai",
        "send-daily-digests": "digests.send_due",
        "mail-comment-notifications": "discussions.mail_notifications",
        "send-weekly-digests": "digests.send_due",
        "retry-digest-deliveries": "digests.send_retries",
        "remind-unconfirmed-subscribers": "digests.remind_unconfirmed",
        "purge-unconfirmed-subscriptions": "digests.purge_unconfirmed",
        "build-vector-index": "papers.build_vector_index",
        "post-to-team-channels": "broadcasts.post_due",
        "check-health": "operations.check_health",
    }
    assert schedule["ingest-hf-daily-papers"]["schedule"].run_every == timedelta(minutes=30)
    arxiv = schedule["ingest-arxiv-listings"]["schedule"]
    assert (arxiv.hour, arxiv.minute, arxiv.day_of_week) == ({4}, {15}, set(range(7)))
    daily = schedule["send-daily-digests"]
    assert daily["kwargs"] == {"frequency": "daily"}
    assert (daily["schedule"].hour, daily["schedule"].minute) == ({6}, {0})
    assert daily["schedule"].day_of_week == {1, 2, 3, 4, 5}  # Monday to Friday
    weekly = schedule["send-weekly-digests"]
    assert weekly["kwargs"] == {"frequency": "weekly"}
    assert (weekly["schedule"].hour, weekly["schedule"].day_of_week) == ({8}, {1})
    assert schedule["retry-digest-deliveries"]["schedule"].run_every == timedelta(minutes=5)
    graph = schedule["build-vector-index"]["schedule"]
    assert (graph.hour, graph.minute) == ({3}, {30})
    harvest = schedule["harvest-arxiv-oai"]["schedule"]
    assert (harvest.hour, harvest.minute) == ({7}, {30})
    for entry in schedule.values():
        assert entry["task"] in celery_app.tasks


def test_the_app_installs_the_schedule_from_the_settings_it_started_with():
    installed = celery_app.conf.beat_schedule
    assert installed.keys() == beat_schedule().keys()
    assert (
        installed["send-daily-digests"]["schedule"]
        == beat_schedule()["send-daily-digests"]["schedule"]
    )


def test_the_daily_digest_job_skips_the_weekend():
    daily = beat_schedule()["send-daily-digests"]["schedule"]
    friday = dt.datetime(2026, 6, 12, django_settings.DIGEST_DAILY_HOUR, tzinfo=dt.UTC)
    saturday = friday + timedelta(days=1)
    monday = friday + timedelta(days=3)
    assert friday.isoweekday() in daily.day_of_week
    assert saturday.isoweekday() % 7 not in daily.day_of_week
    assert monday.isoweekday() in daily.day_of_week


def test_only_network_failures_are_retried_with_backoff_and_jitter():
    task = digest_tasks.send_subscription_mail
    assert TransientMailError in task.autoretry_for
    assert PermanentMailError not in task.autoretry_for
    assert not any(issubclass(PermanentMailError, e) for e in task.autoretry_for)
    assert task.retry_backoff
    assert task.retry_jitter
    assert task.max_retries == 5
    for periodic in (paper_tasks.ingest_hf, digest_tasks.send_due):
        assert periodic.acks_late is True
        assert not any(issubclass(ValueError, e) for e in periodic.autoretry_for)
    assert digest_tasks.send_due.soft_time_limit == django_settings.DIGEST_SEND_TIME_LIMIT


@pytest.fixture
def hf_server(httpserver, settings):
    """A local Hugging Face API serving the recorded daily list; `hold` blocks requests."""
    hold = threading.Event()
    hold.set()
    entered = threading.Event()
    payload = HF_DAILY.read_bytes()

    def daily_papers(request: Request) -> Response:
        entered.set()
        hold.wait(timeout=30)
        if request.args.get("p", "0") != "0":
            return Response(b"[]", content_type="application/json")
        return Response(payload, content_type="application/json")

    httpserver.expect_request("/api/daily_papers").respond_with_handler(daily_papers)
    settings.HF_API_URL = httpserver.url_for("/").rstrip("/")
    httpserver.hold = hold
    httpserver.entered = entered
    return httpserver


@pytest.fixture
def worker(transactional_db) -> Iterator[None]:
    """A real worker thread on the real broker when REDIS_URL is set; eager otherwise."""
    if not REAL_WORKER:
        yield
        return
    import celery.contrib.testing.tasks  # noqa: F401 - registers the ping task
    import redis

    redis.Redis.from_url(django_settings.REDIS_URL).ping()  # unreachable: the test fails
    with start_worker(
        celery_app, pool="threads", concurrency=2, perform_ping_check=True, loglevel="WARNING"
    ):
        yield


def test_an_ingest_task_runs_on_the_worker(worker, hf_server):
    result = paper_tasks.ingest_hf.apply_async(kwargs={"days": ["2026-06-12"]}, ignore_result=False)

    assert result.get(timeout=60) == "succeeded"
    run = IngestRun.objects.get()
    assert (run.source, run.status, run.created) == ("hf", "succeeded", 30)
    assert Paper.objects.count() == 30


@pytest.mark.skipif(
    not REAL_WORKER,
    reason="eager tasks run one after the other; test_two_concurrent_ingest_jobs_* covers it",
)
def test_two_ingest_tasks_on_the_worker_at_once_run_one(worker, hf_server):
    hf_server.hold.clear()
    first = paper_tasks.ingest_hf.apply_async(ignore_result=False)
    assert hf_server.entered.wait(timeout=30)  # the first holds the lock, mid-fetch
    second = paper_tasks.ingest_hf.apply_async(ignore_result=False)
    assert second.get(timeout=60) == paper_tasks.SKIPPED
    hf_server.hold.set()

    assert first.get(timeout=60) == "succeeded"
    assert IngestRun.objects.count() == 1


def test_a_digest_run_on_the_worker_sends_each_subscriber_one_mail(worker, smtp, time_machine):
    time_machine.move_to(dt.datetime(2026, 6, 15, 7, tzinfo=dt.UTC), tick=True)
    readers = [SubscriptionFactory() for _ in range(3)]
    PaperFactory(listed_on=dt.date(2026, 6, 12), title="A paper for the worker")

    first = digest_tasks.send_due.apply_async(kwargs={"frequency": "daily"}, ignore_result=False)
    first.get(timeout=60)
    again = digest_tasks.send_due.apply_async(kwargs={"frequency": "daily"}, ignore_result=False)
    again.get(timeout=60)

    assert smtp.count_by_recipient() == {r.email: 1 for r in readers}
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_ingest_jobs_one_runs_one_skips(hf_server):
    """Two beats (or a slow run and the next) start the same job: the lock lets one run."""
    hf_server.hold.clear()
    outcome: dict[str, str] = {}

    def job(name: str) -> None:
        try:
            outcome[name] = paper_tasks.ingest_hf.apply().get()
        finally:
            from django.db import connections

            connections.close_all()

    first = threading.Thread(target=job, args=("first",))
    first.start()
    assert hf_server.entered.wait(timeout=30)
    job("second")  # starts while the first is mid-fetch
    hf_server.hold.set()
    first.join(timeout=60)

    assert outcome == {"first": "succeeded", "second": paper_tasks.SKIPPED}
    assert IngestRun.objects.count() == 1
    # Once the first is done the lock is free again.
    assert paper_tasks.ingest_hf.apply().get() == "succeeded"


def test_the_lock_is_held_once_and_released():
    with single_run("test.lock") as first, single_run("test.lock") as second:
        assert (first, second) == (True, False)
    with single_run("test.lock") as again:
        assert again is True


def test_the_lock_expires_if_its_holder_dies(time_machine):
    if REAL_WORKER:
        with single_run("test.expiry", timeout=0.2) as first:
            assert first is True
            threading.Event().wait(0.4)  # Redis expires the key on its own clock
            with single_run("test.expiry") as second:
                assert second is True
    else:
        time_machine.move_to(dt.datetime(2026, 6, 15, 7, tzinfo=dt.UTC), tick=True)
        with single_run("test.expiry", timeout=10) as first:
            assert first is True
            time_machine.shift(timedelta(seconds=11))
            with single_run("test.expiry") as second:
                assert second is True
