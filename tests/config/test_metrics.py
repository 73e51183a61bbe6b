"""/metrics: Prometheus's text format for a scraper with the token, nothing for anyone else;
the counters move with real requests, votes, comments, ingestion runs, digests and task
failures, and several processes add up through PROMETHEUS_MULTIPROC_DIR."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from config import metrics
from digests.models import Subscription
from discussions.services import comment_post
from papers import tasks as paper_tasks
from papers.models import Paper
from tests.conftest import HF_DAILY
from tests.factories import PaperFactory, UserFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "scrape-" + "x" * 30


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, labels): value} of one scrape."""
    answer = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.content.decode())
        for sample in family.samples
    }


def value(found, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_the_endpoint_is_not_public(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    settings.METRICS_TOKEN = TOKEN
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_counters_move_with_what_the_site_does(client, settings, httpserver, mailoutbox):
    settings.METRICS_TOKEN = TOKEN
    before = scrape(client)

    # Requests: a page twice (the second from this process's cache), and the API.
    paper = PaperFactory(listed_on=date(2026, 6, 12), upvote_count=3)
    for _ in range(2):
        assert client.get(reverse("papers:paper", args=[paper.arxiv_id])).status_code == 200
    assert client.get("/api/daily_papers").status_code == 200
    # A vote and a comment.
    member = UserFactory()
    client.force_login(member)
    assert client.post(f"/api/papers/{paper.arxiv_id}/upvote").status_code in {200, 201}
    comment_post(user=member, paper=paper, body="A clear and useful paper.")
    # An ingestion run that worked, and one whose source failed.
    httpserver.expect_request("/api/daily_papers").respond_with_data(
        HF_DAILY.read_bytes(), content_type="application/json"
    )
    settings.HF_API_URL = httpserver.url_for("/").rstrip("/")
    paper_tasks.ingest_hf.apply(kwargs={"days": ["2026-06-12"]})
    created = Paper.objects.count() - 1
    httpserver.clear()
    httpserver.expect_request("/api/daily_papers").respond_with_data("down", status=500)
    settings.SOURCE_RETRIES = 0
    paper_tasks.ingest_hf.apply(kwargs={"days": ["2026-06-11"]})
    # A digest, and a task that raised.
    Subscription.objects.create(email="reader@example.org", confirmed_at=paper.created_at)
    from digests.periods import daily_period
    from digests.services.sending import digests_send_due

    digests_send_due(frequency="daily", period=daily_period(date(2026, 6, 12)))
    failed = paper_tasks.refresh_taste.apply(args=["not a member id"], throw=False)
    assert failed.failed()

    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    view = "papers:paper"
    assert (
        moved("dailypapers_request_duration_seconds_count", view=view, method="GET", status="2xx")
        == 2
    )
    assert moved("dailypapers_cache_lookups_total", layer="miss") >= 1
    assert moved("dailypapers_cache_lookups_total", layer="process") >= 1
    assert moved("dailypapers_votes_total", action="up") == 1
    assert moved("dailypapers_comments_total") == 1
    assert moved("dailypapers_ingest_runs_total", source="hf", status="succeeded") == 1
    assert moved("dailypapers_ingest_runs_total", source="hf", status="failed") == 1
    assert moved("dailypapers_ingest_records_total", source="hf", outcome="created") == created
    assert moved("dailypapers_ingest_duration_seconds_count", source="hf") == 2
    assert moved("dailypapers_digests_total", frequency="daily", outcome="sent") == 1
    assert len(mailoutbox) == 1
    assert moved("dailypapers_task_failures_total", task="papers.refresh_taste") == 1


@pytest.mark.skipif(not django_settings.REDIS_URL, reason="the queue is in Redis")
def test_the_queue_length_is_read_from_the_broker(client, settings):
    import redis

    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_QUEUES = ["metrics-test-queue"]
    broker = redis.Redis.from_url(settings.REDIS_URL)
    broker.delete("metrics-test-queue")
    broker.rpush("metrics-test-queue", "a", "b", "c")
    try:
        found = scrape(client)
    finally:
        broker.delete("metrics-test-queue")
    assert value(found, "dailypapers_queue_length", queue="metrics-test-queue") == 3


def test_several_processes_add_up(tmp_path):
    """Two processes count (as gunicorn workers and the Celery worker do), a third scrapes
    them all through the shared folder."""
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    count = (
        "import django; django.setup(); from config import metrics; "
        "metrics.VOTES.labels(action='up').inc(); metrics.COMMENTS.inc(2)"
    )
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, cwd=ROOT, check=True)  # noqa: S603
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from config import metrics; "
            "import sys; sys.stdout.write(metrics.render().decode())",
        ],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(shown)
        for s in family.samples
    }
    assert samples[("dailypapers_votes_total", (("action", "up"),))] == 2
    assert samples[("dailypapers_comments_total", ())] == 4
    assert metrics.status_class(204) == "2xx"


def test_each_process_names_its_files_after_its_host_and_its_pid(tmp_path):
    """The containers of a scaled stack share the folder, and each numbers its processes
    from 1: the host name (a container's own) keeps their files apart."""
    import socket

    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    count = (
        "import django, os; django.setup(); from config import metrics; "
        "metrics.VOTES.labels(action='up').inc(); print(os.getpid())"
    )
    pid = subprocess.run(  # noqa: S603
        [sys.executable, "-c", count], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split()[-1]
    written = {path.name for path in (tmp_path / "metrics").glob("*.db")}
    assert f"counter_{socket.gethostname()}_{pid}.db" in written


def live(base: str) -> None:
    import urllib.request

    urllib.request.urlopen(f"{base}/healthz/live", timeout=10)  # noqa: S310


def test_several_gunicorn_workers_add_up(tmp_path):
    """The full stack's way: gunicorn with 3 workers sharing PROMETHEUS_MULTIPROC_DIR; every
    scrape, whichever worker answers it, counts the requests all of them served."""
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "METRICS_TOKEN": TOKEN,
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(  # noqa: S603  (gunicorn from this environment)
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "config.wsgi",
            "--workers=3",
            f"--bind=127.0.0.1:{port}",
            "--log-level=warning",
        ],
        env=env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    scrape_request = urllib.request.Request(  # noqa: S310
        f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                # Waiting on /metrics, not on the view counted below: a first request that
                # timed out while the workers started may still be served, and count.
                urllib.request.urlopen(scrape_request, timeout=2)  # noqa: S310
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        for connection in held:  # half a request each: each worker waits on one of them
            connection.sendall(b"GET /healthz/live HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        time.sleep(1)
        for connection in held:
            connection.sendall(b"Connection: close\r\n\r\n")
            assert connection.recv(100).startswith(b"HTTP/1.1 200")
            connection.close()
        for _ in range(27):
            live(base)
        counted = set()
        for _ in range(6):  # several scrapes: different workers answer them
            text = urllib.request.urlopen(scrape_request, timeout=5).read().decode()  # noqa: S310
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    if (
                        sample.name == "dailypapers_request_duration_seconds_count"
                        and sample.labels.get("view") == "live"
                    ):
                        counted.add(sample.value)
        assert counted == {30.0}
        served = {
            path.stem.rsplit("_", 1)[1]
            for path in (tmp_path / "metrics").glob("histogram_*.db")
            for key, value, *_rest in MmapedDict.read_all_values_from_file(str(path))
            if "_seconds_sum" in key and '"view": "live"' in key and value > 0
        }
        assert len(served) == 3  # every worker answered some of them
    finally:
        server.terminate()
        server.wait(timeout=30)
