"""A Celery worker killed (SIGKILL) in the middle of a job, then a new one: nothing lost,
nothing duplicated.

Real processes: a worker started with `celery worker` on a Redis of the test's own (so
the killed task's message dies with it), writing to the test database, reading a local
Hugging Face API and sending to a local SMTP server. The test holds the worker at a chosen
point (a row lock in the database, an SMTP DATA that is not answered), kills it there, and
starts another, as an operator or a container restart would; what beat would run next is
sent by the test.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
import redis
from aiosmtpd.controller import Controller
from celery import Celery
from django.conf import settings
from django.db import connection
from django.utils import timezone
from werkzeug import Request, Response

from digests.models import Delivery
from digests.services import sending
from papers.models import IngestRun, Paper
from papers.services.ingestion import INTERRUPTED as INGEST_INTERRUPTED
from tests.conftest import HF_DAILY
from tests.digests.conftest import Inbox, free_port
from tests.digests.factories import SubscriptionFactory
from tests.factories import PaperFactory
from tests.test_faults import OwnRedis


@pytest.fixture(autouse=True)
def _eager_celery():
    """Tasks go to the real broker here: a worker runs them."""


pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
LOCK_SECONDS = 3  # CELERY_TASK_TIME_LIMIT for the workers: how long a dead run's lock lasts


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def database_url() -> str:
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{quote(db['USER'])}{password}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """`celery worker` in a process of its own (the solo pool: the task runs in it)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        self.log.write_bytes(b"")
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "--app=config",
                    "worker",
                    "--pool=solo",
                    "--loglevel=INFO",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    f"--hostname=killed-{os.getpid()}-{time.monotonic_ns()}@%h",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_for(lambda: b" ready." in self.log.read_bytes() or self._died(), "the worker")
        assert not self._died(), self.log.read_text()
        return self

    def _died(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        assert self.process.wait(timeout=10) == -signal.SIGKILL

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture
def broker() -> Iterator[OwnRedis]:
    server = OwnRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def workers(broker, tmp_path) -> Iterator[Callable[..., Worker]]:
    """Start workers on the test's database and Redis; all are stopped at the end."""
    started: list[Worker] = []

    def start(**extra: str) -> Worker:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": broker.url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CELERY_TASK_SOFT_TIME_LIMIT": str(LOCK_SECONDS - 1),
            "CELERY_TASK_TIME_LIMIT": str(LOCK_SECONDS),
            "VAR_DIR": str(tmp_path),
            **extra,
        }
        worker = Worker(env, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def send(broker) -> Iterator[Callable[..., None]]:
    """Queue a task by name on the workers' broker, as beat would."""
    sender = Celery("beat", broker=broker.url, set_as_current=False)
    sender.conf.task_serializer = "json"

    def queue(name: str, **kwargs: Any) -> None:
        sender.send_task(name, kwargs=kwargs)

    yield queue
    sender.close()


def test_an_ingestion_killed_mid_write_is_completed_by_the_next_worker(
    workers, send, broker, httpserver
):
    payload = HF_DAILY.read_bytes()

    def daily_papers(request: Request) -> Response:
        body = payload if request.args.get("p", "0") == "0" else b"[]"
        return Response(body, content_type="application/json")

    httpserver.expect_request("/api/daily_papers").respond_with_handler(daily_papers)
    hf_url = httpserver.url_for("/").rstrip("/")
    # A paper the run will update: the test holds its row, so the worker stops mid-write,
    # inside the run's transaction, after the new papers are written in it.
    held = PaperFactory(arxiv_id="2606.00467", title="An older title", listed_on="2026-06-12")
    holder = psycopg.connect(database_url())
    holder.execute("SELECT 1 FROM papers_paper WHERE id = %s FOR UPDATE", [held.pk])
    first = workers(HF_API_URL=hf_url)

    send("papers.ingest_hf", days=["2026-06-12"])
    waiting = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND query ILIKE '%%papers_paper%%'"
    )
    wait_for(lambda: connection.cursor().execute(waiting).fetchone()[0], "the write to block")
    first.kill()
    holder.rollback()  # the orphaned statement ends; with no client, nothing is committed
    holder.close()
    advisory = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
    wait_for(lambda: connection.cursor().execute(advisory).fetchone()[0] == 0, "the rollback")

    assert list(Paper.objects.values_list("arxiv_id", "title")) == [
        ("2606.00467", "An older title")
    ]
    killed = IngestRun.objects.get()
    assert killed.status == IngestRun.Status.RUNNING

    # The killed run's lock outlives it by the task time limit; then the next run goes.
    lock = redis.Redis.from_url(broker.url)
    wait_for(lambda: not lock.exists("dp:lock:papers.ingest_hf"), "the lock to expire", 10)
    time.sleep(0.5)
    workers(HF_API_URL=hf_url)
    send("papers.ingest_hf", days=["2026-06-12"])
    wait_for(
        lambda: IngestRun.objects.filter(status=IngestRun.Status.SUCCEEDED).first(),
        "the next run",
    )

    ids = list(Paper.objects.values_list("arxiv_id", flat=True))
    assert len(ids) == len(set(ids)) == 30
    killed.refresh_from_db()
    assert (killed.status, killed.error) == (IngestRun.Status.FAILED, INGEST_INTERRUPTED)
    run = IngestRun.objects.get(status=IngestRun.Status.SUCCEEDED)
    assert run.created == 29


class HoldingInbox(Inbox):
    """An SMTP server that does not answer the DATA of the n-th message until released,
    and then refuses it: that message is never accepted."""

    def __init__(self, hold: int) -> None:
        super().__init__()
        self.hold = hold
        self.port = 0
        self.data_seen = 0
        self.holding = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_seen += 1
        if self.data_seen == self.hold:
            self.holding.set()
            await asyncio.to_thread(self.release.wait, 30)
            return "451 4.3.0 Not accepted"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def held_smtp() -> Iterator[HoldingInbox]:
    inbox = HoldingInbox(hold=3)
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    inbox.release.set()
    controller.stop()


def test_a_digest_run_killed_mid_send_reaches_everyone_exactly_once(workers, send, held_smtp):
    yesterday = timezone.now().date() - dt.timedelta(days=1)
    readers = [SubscriptionFactory().email for _ in range(6)]
    PaperFactory(listed_on=yesterday, title="A paper for everyone")
    first = workers(
        EMAIL_URL=f"smtp://127.0.0.1:{held_smtp.port}",
        DIGEST_SEND_CONCURRENCY="1",
        SITE_URL="https://papers.example.org",
    )

    send("digests.send_due", frequency="daily", period=yesterday.isoformat())
    assert held_smtp.holding.wait(timeout=30)  # two accepted, the third in the SMTP DATA
    first.kill()
    held_smtp.release.set()

    statuses = dict(Delivery.objects.values_list("subscription__email", "status"))
    in_doubt = [email for email, status in statuses.items() if status == "sending"]
    assert len(held_smtp.messages) == 2
    assert len(in_doubt) == 1  # claimed, never recorded: the process died mid-send
    assert sorted(statuses.values()).count("sent") == 2

    # A new worker: the retry job (every DIGEST_RETRY_EVERY_MINUTES) sends the rest.
    workers(
        EMAIL_URL=f"smtp://127.0.0.1:{held_smtp.port}",
        DIGEST_SEND_CONCURRENCY="1",
        SITE_URL="https://papers.example.org",
    )
    send("digests.send_retries")
    wait_for(lambda: len(held_smtp.messages) == 5, "the rest of the run")
    assert held_smtp.count_by_recipient() == {r: 1 for r in readers if r not in in_doubt}

    # Nobody can tell whether the one in doubt went out: never resent by itself. Once stale
    # it is marked interrupted; here it was not delivered, so the operator sends it again.
    later = timezone.now() + dt.timedelta(minutes=settings.DIGEST_STALE_AFTER_MINUTES + 1)
    sending.deliveries_send_retries(now=later)
    interrupted = Delivery.objects.get(subscription__email=in_doubt[0])
    assert (interrupted.status, interrupted.error) == ("failed", sending.INTERRUPTED)
    assert sending.deliveries_resend(deliveries=Delivery.objects.filter(pk=interrupted.pk)) == 1
    send("digests.send_retries")
    wait_for(lambda: len(held_smtp.messages) == 6, "the one sent again")

    assert held_smtp.count_by_recipient() == {r: 1 for r in readers}
    # The worker records the send once the server has answered, a moment after the count.
    wait_for(
        lambda: set(Delivery.objects.values_list("status", flat=True)) == {"sent"},
        "the last send recorded",
    )
