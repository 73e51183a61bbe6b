from __future__ import annotations

import json
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from werkzeug import Response

from papers.models import IngestRun, Paper
from tests.conftest import ARXIV_ATOM, ARXIV_RSS, FIXTURES, HF_DAILY, HF_PAPER, HF_SEARCH

pytestmark = pytest.mark.django_db


def ingest(*args: str) -> str:
    out = StringIO()
    call_command("ingest", *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


@pytest.mark.parametrize(
    ("path", "created"),
    [(HF_DAILY, 30), (HF_PAPER, 1), (HF_SEARCH, 9), (ARXIV_ATOM, 10), (ARXIV_RSS, 3)],
)
def test_ingest_file_prints_the_summary_line_for_every_sample(path, created):
    assert ingest("file", str(path)) == (f"created {created}, updated 0, unchanged 0, rejected 0")
    assert ingest("file", str(path)) == (f"created 0, updated 0, unchanged {created}, rejected 0")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such file"),
        (b"", "the file is empty"),
        (HF_DAILY.read_bytes()[:5000], "not valid JSON"),
        (b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", "HTML page"),
        (b'{"error": "Invalid date"}', "a JSON error response ('Invalid date'), not papers"),
        (b'{"papers": []}', "a JSON object where an array of papers belongs"),
        (b"42", "a JSON number where an array of papers belongs"),
        (b"\x00\x01\x02garbage", "unknown format"),
        (b"<feed xmlns='http://www.w3.org/2005/Atom'><entry>", "not well-formed XML"),
    ],
)
def test_malformed_file_fails_with_one_clear_line_and_changes_no_paper(tmp_path, content, problem):
    call_command("ingest", "file", str(HF_PAPER), stdout=StringIO(), stderr=StringIO())
    before = list(Paper.objects.values_list("arxiv_id", "updated_at"))
    path = tmp_path / "input.json"
    if content is not None:
        path.write_bytes(content)

    with pytest.raises(CommandError) as error:
        ingest("file", str(path))

    message = str(error.value)
    assert str(path) in message
    assert problem in message
    assert "\n" not in message
    assert list(Paper.objects.values_list("arxiv_id", "updated_at")) == before
    assert IngestRun.objects.first().status == "failed"


def test_ingest_file_exits_non_zero_from_the_shell(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "broken.json"
    path.write_text("[{")
    env = {"PATH": "/usr/bin:/bin", "VAR_DIR": str(tmp_path), "DEBUG": "true"}

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "manage.py", *args]
        return subprocess.run(command, capture_output=True, text=True, check=False, env=env)  # noqa: S603

    assert manage("migrate", "--no-input").returncode == 0
    result = manage("ingest", "file", str(path))

    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"CommandError: {path}: not valid JSON (Expecting property name enclosed in double "
        "quotes at line 1 column 3)"
    )


def test_ingest_hf_fetches_a_day_from_the_configured_server(httpserver, settings):
    settings.HF_API_URL = httpserver.url_for("").rstrip("/")
    httpserver.expect_request(
        "/api/daily_papers", query_string={"date": "2026-06-12", "p": "0", "limit": "100"}
    ).respond_with_data(HF_DAILY.read_bytes(), content_type="application/json")

    assert ingest("hf", "--date", "2026-06-12") == "created 30, updated 0, unchanged 0, rejected 0"
    run = IngestRun.objects.get()
    assert (run.source, run.parameters) == ("hf", {"days": ["2026-06-12"]})


def test_ingest_hf_range_that_times_out_fails_and_writes_nothing(httpserver, settings):
    settings.HF_API_URL = httpserver.url_for("").rstrip("/")
    settings.SOURCE_TIMEOUT_SECONDS = 0.2
    settings.SOURCE_RETRIES = 2
    httpserver.expect_request(
        "/api/daily_papers", query_string={"date": "2026-06-11", "p": "0", "limit": "100"}
    ).respond_with_data(HF_DAILY.read_bytes(), content_type="application/json")

    def slow(_request):
        time.sleep(0.5)
        return Response("[]", content_type="application/json")

    httpserver.expect_request("/api/daily_papers").respond_with_handler(slow)

    with pytest.raises(CommandError, match="timed out"):
        ingest("hf", "--since", "2026-06-11", "--until", "2026-06-12")

    run = IngestRun.objects.get()
    assert run.status == "failed"
    assert "failed after 2 tries: timed out" in run.error
    assert Paper.objects.count() == 0


def test_ingest_arxiv_by_id_and_rss_use_the_configured_servers(httpserver, settings):
    settings.ARXIV_API_URL = httpserver.url_for("").rstrip("/")
    settings.ARXIV_RSS_URL = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/api/query").respond_with_data(
        ARXIV_ATOM.read_bytes(), content_type="application/atom+xml"
    )
    httpserver.expect_request("/rss/cs.AI+cs.LG").respond_with_data(
        ARXIV_RSS.read_bytes(), content_type="application/rss+xml"
    )

    assert ingest("arxiv", "--id", "1201.4869v1").startswith("created 10,")
    assert ingest("arxiv-rss", "--category", "cs.AI", "--category", "cs.LG").startswith(
        "created 3,"
    )
    assert IngestRun.objects.filter(status="succeeded").count() == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["hf", "--until", "2026-06-12"], "--until goes with --since"),
        (["hf", "--since", "2026-06-12", "--until", "2026-06-01"], "is before --since"),
        (["arxiv", "--date", "2026-06-12"], "--category is required"),
    ],
)
def test_ingest_rejects_inconsistent_arguments(args, message):
    with pytest.raises(CommandError, match=message):
        ingest(*args)


def test_ingest_rejects_a_bad_date():
    with pytest.raises(CommandError, match="is not a date"):
        ingest("hf", "--date", "2026-02-30")


def test_load_demo_is_idempotent():
    out = StringIO()
    call_command("load_demo", stdout=out)
    call_command("load_demo", stdout=out)

    assert out.getvalue().splitlines() == [
        "demo data: created 30, updated 0, unchanged 0, rejected 0",
        "demo data: created 0, updated 0, unchanged 30, rejected 0",
    ]
    assert Paper.objects.filter(listed_on="2026-06-12").count() == 30


def test_demo_data_is_the_real_sample():
    bundled = json.loads(
        (FIXTURES.parent.parent / "papers/demo/hf_daily_papers_2026-06-12.json").read_text()
    )
    assert bundled == json.loads(HF_DAILY.read_text())
