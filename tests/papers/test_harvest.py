"""Harvesting arXiv over OAI-PMH: real recorded pages served by a local server, chained by
their resumption tokens; resumed after a failure, an expired token and a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from werkzeug import Request, Response

from papers import tasks
from papers.models import Harvest, IngestRun, Paper
from papers.services.ingestion import HarvestBusy, papers_harvest_oai
from papers.sources import http
from tests.papers.test_sources_oai import (
    ARXIV_PAGE,
    BAD_TOKEN,
    LAST_PAGE,
    OAI_DIR,
    RAW_PAGE,
    SET_PAGE,
)
from tests.test_worker_killed import database_url, wait_for

RETRY_503 = json.loads((OAI_DIR / "503_retry_after_2018-06-21.json").read_text())
FIRST = {"verb": "ListRecords", "metadataPrefix": "arXiv", "from": "2015-01-01"}
NEXT = {"verb": "ListRecords", "resumptionToken": "788421|43001"}
ROOT = Path(__file__).resolve().parents[2]
ALL_FOUR = ["0712.4079", "0712.4080", "1412.8544", "hep-th/9504118"]


@pytest.fixture
def oai_server(httpserver, settings):
    settings.ARXIV_OAI_URL = httpserver.url_for("/oai")
    return httpserver


def xml(path: Path) -> dict[str, object]:
    return {"response_data": path.read_bytes(), "content_type": "text/xml"}


def serve_two_pages(server) -> None:
    """The window's first page (a real page carrying a token), then the page that token
    names (a real last page)."""
    server.expect_request("/oai", query_string=FIRST).respond_with_data(**xml(ARXIV_PAGE))
    server.expect_request("/oai", query_string=NEXT).respond_with_data(**xml(LAST_PAGE))


def requests_made(server) -> list[dict[str, str]]:
    return [dict(request.args) for request, _response in server.log]


def harvest(**kwargs) -> IngestRun:
    options = {"since": date(2015, 1, 1), "until": None, "metadata_prefix": "arXiv"}
    return papers_harvest_oai(**(options | kwargs))


@pytest.mark.django_db
def test_a_harvest_follows_the_token_to_the_end(oai_server):
    serve_two_pages(oai_server)

    run = harvest()

    assert run.status == IngestRun.Status.SUCCEEDED, run.error
    assert (run.created, run.updated, run.unchanged, run.rejected) == (4, 0, 0, 0)
    assert sorted(Paper.objects.values_list("arxiv_id", flat=True)) == ALL_FOUR
    assert requests_made(oai_server) == [FIRST, NEXT]
    done = Harvest.objects.get()
    assert (done.status, done.pages, done.records, done.token) == ("succeeded", 2, 4, "")
    assert done.complete_size == 1024354  # as the token's page said
    paper = Paper.objects.get(arxiv_id="hep-th/9504118")
    assert paper.listed_on == date(1995, 4, 24)  # its first version's day, not today
    assert paper.primary_category == "hep-th"


@pytest.mark.django_db
def test_harvesting_the_same_window_again_writes_nothing(oai_server):
    serve_two_pages(oai_server)
    harvest()
    before = {p.arxiv_id: p.updated_at for p in Paper.objects.all()}

    again = harvest()

    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert {p.arxiv_id: p.updated_at for p in Paper.objects.all()} == before
    assert Harvest.objects.filter(status="succeeded").count() == 2


@pytest.mark.django_db
def test_a_503_waits_as_long_as_retry_after_says(oai_server, monkeypatch):
    pauses: list[float] = []
    monkeypatch.setattr(http.time, "sleep", pauses.append)
    oai_server.expect_ordered_request("/oai", query_string=FIRST).respond_with_data(
        RETRY_503["body"], status=503, headers=RETRY_503["headers"]
    )
    oai_server.expect_ordered_request("/oai", query_string=FIRST).respond_with_data(
        **xml(ARXIV_PAGE)
    )
    oai_server.expect_request("/oai", query_string=NEXT).respond_with_data(**xml(LAST_PAGE))

    run = harvest()

    assert run.status == IngestRun.Status.SUCCEEDED, run.error
    assert run.created == 4
    assert max(pauses) >= 10  # the recorded Retry-After: 10


@pytest.mark.django_db
def test_a_retry_after_beyond_ten_minutes_fails_the_run_and_keeps_the_place(
    oai_server, monkeypatch
):
    monkeypatch.setattr(http.time, "sleep", lambda seconds: None)
    oai_server.expect_request("/oai", query_string=FIRST).respond_with_data(**xml(ARXIV_PAGE))
    oai_server.expect_request("/oai", query_string=NEXT).respond_with_data(
        "", status=503, headers={"Retry-After": "3600"}
    )

    run = harvest()

    assert run.status == IngestRun.Status.FAILED
    assert "retry after 3,600 s" in run.error
    assert Harvest.objects.get().token == "788421|43001"


@pytest.mark.django_db
def test_a_failed_harvest_resumes_at_the_page_it_had_not_finished(oai_server):
    oai_server.expect_request("/oai", query_string=FIRST).respond_with_data(**xml(ARXIV_PAGE))
    oai_server.expect_request("/oai", query_string=NEXT).respond_with_data("down", status=500)

    failed = harvest()

    assert failed.status == IngestRun.Status.FAILED
    assert "HTTP 500" in failed.error
    stopped = Harvest.objects.get()
    assert (stopped.status, stopped.pages, stopped.token) == ("failed", 1, "788421|43001")
    assert Paper.objects.count() == 2  # the first page stays written

    oai_server.clear()
    oai_server.expect_request("/oai", query_string=NEXT).respond_with_data(**xml(LAST_PAGE))
    resumed = harvest()

    assert resumed.status == IngestRun.Status.SUCCEEDED, resumed.error
    assert requests_made(oai_server) == [NEXT]  # not the first page again
    assert resumed.parameters["resumed_at_page"] == 2
    assert sorted(Paper.objects.values_list("arxiv_id", flat=True)) == ALL_FOUR
    assert Harvest.objects.get().status == "succeeded"


@pytest.mark.django_db
def test_an_expired_token_begins_the_window_again(oai_server):
    oai_server.expect_request("/oai", query_string=FIRST).respond_with_data(**xml(ARXIV_PAGE))
    oai_server.expect_request("/oai", query_string=NEXT).respond_with_data("down", status=500)
    harvest()
    oai_server.clear()
    oai_server.expect_ordered_request("/oai", query_string=NEXT).respond_with_data(**xml(BAD_TOKEN))
    serve_two_pages(oai_server)

    run = harvest()

    assert run.status == IngestRun.Status.SUCCEEDED, run.error
    assert requests_made(oai_server) == [NEXT, FIRST, NEXT]
    assert (run.created, run.unchanged) == (2, 2)


@pytest.mark.django_db
def test_a_token_that_never_moves_fails_instead_of_looping(oai_server):
    oai_server.expect_request("/oai", query_string=FIRST).respond_with_data(**xml(ARXIV_PAGE))
    oai_server.expect_request("/oai", query_string=NEXT).respond_with_data(**xml(ARXIV_PAGE))

    run = harvest()

    assert run.status == IngestRun.Status.FAILED
    assert "repeated its resumption token" in run.error


@pytest.mark.django_db
def test_a_live_harvest_of_the_window_is_not_run_twice(oai_server):
    Harvest.objects.create(
        metadata_prefix="arXiv", since=date(2015, 1, 1), token="788421|43001", owner="elsewhere:1"
    )

    with pytest.raises(HarvestBusy, match="being harvested"):
        harvest()
    Harvest.objects.update(updated_at=timezone.now() - timedelta(minutes=20))
    oai_server.expect_request("/oai", query_string=NEXT).respond_with_data(**xml(LAST_PAGE))
    assert harvest().status == IngestRun.Status.SUCCEEDED  # silent for long: taken over


@pytest.mark.django_db
def test_the_command_shows_progress_page_by_page(oai_server):
    serve_two_pages(oai_server)
    out = StringIO()

    call_command("ingest", "oai", "--from", "2015-01-01", "--format", "arXiv", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("page 1: 2 records of 1,024,354; this page created 2")
    assert lines[1].startswith("page 2: 4 records")
    assert lines[-1] == "created 4, updated 0, unchanged 0, rejected 0"


@pytest.mark.django_db
def test_the_command_says_how_to_resume_a_failed_harvest(oai_server):
    oai_server.expect_request("/oai").respond_with_data("down", status=500)

    with pytest.raises(CommandError, match="run the same command again to resume"):
        call_command("ingest", "oai", "--from", "2015-01-01", stdout=StringIO())
    with pytest.raises(CommandError, match="before --from"):
        call_command("ingest", "oai", "--from", "2015-01-02", "--until", "2015-01-01")


@pytest.mark.django_db
def test_the_daily_task_harvests_each_set_from_where_the_last_left(oai_server, settings):
    settings.ARXIV_OAI_SETS = ["physics:hep-th"]
    settings.ARXIV_OAI_FORMAT = "arXiv"
    finished = timezone.now() - timedelta(days=1)
    Harvest.objects.create(
        metadata_prefix="arXiv",
        set_spec="physics:hep-th",
        status="succeeded",
        finished_at=finished,
    )
    since = (finished - timedelta(days=1)).date().isoformat()
    oai_server.expect_request(
        "/oai",
        query_string={
            "verb": "ListRecords",
            "metadataPrefix": "arXiv",
            "from": since,
            "set": "physics:hep-th",
        },
    ).respond_with_data(**xml(SET_PAGE))

    assert tasks.harvest_oai() == "physics:hep-th: succeeded"
    assert Paper.objects.count() == 3
    settings.ARXIV_OAI_SETS = []
    assert tasks.harvest_oai().startswith("no sets")


@pytest.mark.django_db
def test_an_arxiv_raw_harvest_stops_clearly_on_a_token_arxiv_refuses(oai_server):
    oai_server.expect_request(
        "/oai", query_string={"verb": "ListRecords", "metadataPrefix": "arXivRaw"}
    ).respond_with_data(**xml(RAW_PAGE))
    oai_server.expect_request(
        "/oai", query_string={"verb": "ListRecords", "resumptionToken": "726959|1001"}
    ).respond_with_data(**xml(BAD_TOKEN))

    run = harvest(since=None, metadata_prefix="arXivRaw")

    assert run.status == IngestRun.Status.FAILED
    assert "badResumptionToken" in run.error
    assert Paper.objects.get(arxiv_id="0704.0716").version == 4


# A real kill: the harvest runs in a process of its own, killed while it waits for page 2.


@pytest.fixture
def held_second_page(oai_server) -> Iterator[threading.Event]:
    """Page 2's request is held until the test lets it go (after the kill)."""
    arrived, release = threading.Event(), threading.Event()

    def hold(request: Request) -> Response:
        arrived.set()
        release.wait(30)
        return Response("gone", status=500)

    oai_server.expect_request("/oai", query_string=FIRST).respond_with_data(**xml(ARXIV_PAGE))
    oai_server.expect_oneshot_request("/oai", query_string=NEXT).respond_with_handler(hold)
    release.arrived = arrived  # type: ignore[attr-defined]
    yield release
    release.set()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_harvest_killed_mid_way_resumes_where_it_stopped(oai_server, held_second_page, settings):
    env = os.environ | {
        "DATABASE_URL": database_url(),
        "ARXIV_OAI_URL": settings.ARXIV_OAI_URL,
        "ARXIV_DELAY_SECONDS": "0",
        "CELERY_TASK_ALWAYS_EAGER": "true",
    }
    env.pop("REDIS_URL", None)
    command = [sys.executable, "manage.py", "ingest", "oai", "--from", "2015-01-01"]
    process = subprocess.Popen(  # noqa: S603  (this interpreter, our own command)
        [*command, "--format", "arXiv"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert held_second_page.arrived.wait(60), "the harvest never asked for page 2"  # type: ignore[attr-defined]
        wait_for(lambda: Paper.objects.count() == 2, "page 1 written")
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    held_second_page.set()
    stopped = Harvest.objects.get()
    assert (stopped.status, stopped.pages, stopped.token) == ("running", 1, "788421|43001")

    oai_server.expect_request("/oai", query_string=NEXT).respond_with_data(**xml(LAST_PAGE))
    run = harvest()  # at once: the killed process is gone, nothing to wait for

    assert run.status == IngestRun.Status.SUCCEEDED, run.error
    assert requests_made(oai_server).count(FIRST) == 1
    assert sorted(Paper.objects.values_list("arxiv_id", flat=True)) == ALL_FOUR
    killed_run = IngestRun.objects.get(pk=stopped.run_id)
    assert killed_run.status == IngestRun.Status.FAILED
    assert "interrupted" in killed_run.error


@pytest.mark.django_db
def test_harvested_papers_appear_on_their_category_pages(oai_server, client):
    oai_server.expect_request("/oai").respond_with_data(**xml(SET_PAGE))
    harvest(since=date(2017, 12, 14), set_spec="physics:hep-th")

    month = client.get("/papers/category/hep-th/month/2015-07").content.decode()
    cross_listed = client.get("/papers/category/physics.hist-ph/month/2014-12").content.decode()

    assert "Relativistic quantum dynamics of vector bosons" in month
    assert "Toolbox for reconstructing quantum theory" in cross_listed
    assert "Relativistic quantum dynamics" not in cross_listed
