"""The HTTP benchmark's machinery: its phases, the member's login and pages, the voter."""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import defaultdict

import httpx
import pytest
from werkzeug import Request, Response

from bench import http
from bench.members import Reader, prepare_reader
from bench.voter import Voter, VoterReport
from papers.services.votes import paper_upvote
from tests.factories import PaperFactory

DAY = "/papers/date/2026-06-12"


def test_phases_run_in_their_order_whatever_the_order_given():
    chosen = http.parse_phases("member-votes, anonymous")

    assert [phase.name for phase in chosen] == ["anonymous", "member-votes"]
    assert [phase.title for phase in chosen] == ["anonymous, quiet", "member, votes at 10/s"]


@pytest.mark.parametrize("value", ["anonymous,members", "", " , "])
def test_an_unknown_or_missing_phase_is_refused(value):
    with pytest.raises(argparse.ArgumentTypeError):
        http.parse_phases(value)


def test_a_member_reads_the_pages_and_visitors_the_api_too():
    targets = http.Targets(endpoints=http.DEMO_TARGETS, day_papers=[])
    member = next(phase for phase in http.PHASES if phase.name == "member")

    assert set(targets.for_phase(member)) == {"daily feed", "paper page"}
    assert targets.for_phase(http.PHASES[0]) == http.DEMO_TARGETS


def test_secure_cookies_are_read_from_the_set_cookie_headers():
    response = httpx.Response(
        302,
        headers=[
            (
                "Set-Cookie",
                "csrftoken=abc; expires=Thu, 26 Nov 2027 05:00:00 GMT; Max-Age=31449600; "
                "Path=/; SameSite=Lax; Secure",
            ),
            ("Set-Cookie", "sessionid=xyz; HttpOnly; Path=/; SameSite=Lax; Secure"),
        ],
    )

    assert http.set_cookies(response) == {"csrftoken": "abc", "sessionid": "xyz"}


@pytest.fixture
def day_papers(db):
    return [PaperFactory(), PaperFactory()]


@pytest.mark.django_db
def test_a_visitors_page_is_not_taken_for_the_members(client, day_papers):
    body = client.get(DAY, HTTP_X_FORWARDED_PROTO="https").content.decode()

    assert http.member_page_problems(body, marked=False) == [
        "no Log out button",
        "login links, as a visitor sees",
        "no upvote form",
    ]


@pytest.mark.django_db
def test_a_member_without_votes_shows_no_marks(client, day_papers, alice):
    client.force_login(alice)

    body = client.get(DAY, HTTP_X_FORWARDED_PROTO="https").content.decode()

    assert http.member_page_problems(body, marked=True) == [
        "the member's own upvotes are not marked"
    ]


@pytest.mark.django_db
def test_the_members_page_has_their_marks_and_no_login_link(
    client, day_papers, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # as committed votes do
        paper_upvote(paper=day_papers[0], user=alice)
    client.force_login(alice)

    body = client.get(DAY, HTTP_X_FORWARDED_PROTO="https").content.decode()

    assert http.member_page_problems(body, marked=True) == []


READER = Reader("test-reader", "test-reader@example.org", "test-reader-password-0")


@pytest.mark.django_db
def test_the_reader_is_the_same_member_run_after_run_with_one_token():
    from allauth.account.models import EmailAddress

    from accounts.models import ApiToken

    first, second = prepare_reader(READER), prepare_reader(READER)

    assert first != second
    assert ApiToken.objects.filter(user__username=READER.username).count() == 1
    address = EmailAddress.objects.get(user__username=READER.username)
    assert (address.email, address.verified, address.primary) == (READER.email, True, True)


@pytest.mark.django_db(transaction=True)
def test_the_reader_logs_in_through_the_form_and_reads_their_own_pages(live_server):
    paper = PaperFactory()
    token = prepare_reader(READER)
    http.upvote(live_server.url, token, [paper.arxiv_id])

    cookie = http.log_in(live_server.url, READER)

    assert cookie.startswith("sessionid=")
    assert "; csrftoken=" in cookie
    http.check_member_pages(live_server.url, {"busiest day": DAY}, cookie)
    with pytest.raises(SystemExit, match="is not the member's page: no Log out button"):
        http.check_member_pages(live_server.url, {"busiest day": DAY}, "sessionid=forged")


@pytest.mark.django_db(transaction=True)
def test_a_wrong_password_stops_the_benchmark(live_server):
    prepare_reader(READER)

    with pytest.raises(SystemExit, match=re.escape("logging in as test-reader@example.org failed")):
        http.log_in(live_server.url, Reader(READER.username, READER.email, "not-it"))


@pytest.mark.django_db(transaction=True)
def test_an_unverified_address_cannot_log_in(live_server):
    from allauth.account.models import EmailAddress

    prepare_reader(READER)
    EmailAddress.objects.filter(email=READER.email).update(verified=False)

    with pytest.raises(SystemExit, match=re.escape("test-reader@example.org is not verified")):
        http.log_in(live_server.url, READER)


def vote_server(httpserver, *, status: int = 200) -> dict[tuple[str, str], bool]:
    """A fake vote API that refuses a vote the member has already cast (or taken back)."""
    votes: dict[tuple[str, str], bool] = defaultdict(bool)

    def handler(request: Request) -> Response:
        key = (request.headers["Authorization"], request.path)
        upvote = request.method == "POST"
        if votes[key] == upvote or status != 200:
            return Response(status=status if status != 200 else 409)
        votes[key] = upvote
        return Response(json.dumps({"upvoted": upvote, "upvotes": 1}), status=200)

    httpserver.expect_request("/api/papers/2606.00001/upvote").respond_with_handler(handler)
    httpserver.expect_request("/api/papers/2606.00002/upvote").respond_with_handler(handler)
    return votes


def test_the_voter_toggles_at_its_pace(httpserver):
    vote_server(httpserver)
    voter = Voter(
        httpserver.url_for("/").rstrip("/"),
        ["token-a", "token-b"],
        ["2606.00001", "2606.00002"],
        rate=40.0,
        headers={},
    )

    voter.start()
    time.sleep(1.0)
    report = voter.stop()

    assert report.errors == 0, report.error_kinds
    assert 25 <= report.votes <= 45  # 40/s for a second, on a busy machine
    assert voter.votes_between(voter.started, voter.started + 0.5) <= 22


def test_the_voter_counts_refused_votes_as_errors(httpserver):
    vote_server(httpserver, status=500)
    voter = Voter(
        httpserver.url_for("/").rstrip("/"), ["token-a"], ["2606.00001"], rate=20.0, headers={}
    )

    voter.start()
    time.sleep(0.3)
    report = voter.stop()

    assert report.votes == 0
    assert report.errors >= 3
    assert report.error_kinds == {"HTTP 500": report.errors}


class SteadyVoter:
    """Stands in for Voter: `rate` votes a second, whenever it is asked."""

    def __init__(self, rate: float, errors: dict[str, int] | None = None) -> None:
        self.rate, self.errors = rate, errors or {}

    def start(self) -> None:
        pass

    def votes_between(self, start: float, end: float) -> int:
        return int(self.rate * (end - start))

    def error_kinds(self) -> dict[str, int]:
        return self.errors

    def stop(self) -> VoterReport:
        return VoterReport(5, 10, 10.0, 3.0, int(self.rate * 3), self.rate, 0, 10.0, 50.0, 1.0)


class Clock:
    """time.monotonic for bench.http, moved on by the fake wrk."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def fake_wrk(monkeypatch):
    """wrk and the size probe without a server: each run takes a second of a fake clock."""
    clock = Clock()

    def run(url: str, **options: object) -> dict[str, float]:
        clock.now += 1.0
        return {"rps": 900.0 if http.BASELINE not in url else 1000.0, "p50": 2.0, "p99": 9.0}

    monkeypatch.setattr(http, "time", clock)
    monkeypatch.setattr(http, "wrk", run)
    monkeypatch.setattr(http, "body_sizes", lambda url, headers=None: (1000, 4000))


OPTIONS = {"duration": 1, "connections": 10, "rounds": 2}
UNDER_VOTES = next(phase for phase in http.PHASES if phase.name == "anonymous-votes")


def test_the_voters_rate_is_taken_over_the_endpoints_runs_and_the_baselines(fake_wrk):
    result = http.measure("http://x", DAY, voter=SteadyVoter(10.0), **OPTIONS)

    assert result["ratio"] == pytest.approx(0.9)
    assert result["votes_per_s"] == 10.0
    assert result["votes_kept_up"]


def test_a_phase_under_votes_reports_the_voter(fake_wrk):
    figures = http.run_phase(
        UNDER_VOTES,
        "http://x",
        {"busiest day": DAY},
        options=OPTIONS,
        cookie=None,
        voter=SteadyVoter(10.0),
        size_reference=False,
    )

    assert figures["phase"] == "anonymous-votes"
    assert figures["voter"]["votes_per_s"] == 10.0
    assert figures["endpoints"][0]["votes_per_s"] == 10.0
    assert "votes_kept_up" not in figures["endpoints"][0]


@pytest.mark.parametrize(
    ("voter", "problem"),
    [
        (SteadyVoter(7.0), "the voter failed during busiest day's runs: 7.0 votes/s, under 9.0"),
        (SteadyVoter(10.0, {"HTTP 500": 2}), r"errors \{'HTTP 500': 2\}"),
    ],
)
def test_a_phase_fails_when_the_voter_falls_behind_or_errs(fake_wrk, voter, problem):
    with pytest.raises(SystemExit, match=problem):
        http.run_phase(
            UNDER_VOTES,
            "http://x",
            {"busiest day": DAY},
            options=OPTIONS,
            cookie=None,
            voter=voter,
            size_reference=False,
        )


def test_each_worker_notes_its_older_collections(tmp_path, monkeypatch):
    import gc

    from bench.gunicorn_gc import post_fork

    monkeypatch.setenv("BENCH_GC_DIR", str(tmp_path))
    before = list(gc.callbacks)
    post_fork(server=None, worker=None)
    try:
        gc.collect(2)
    finally:
        gc.callbacks[:] = before
    lines = next(tmp_path.glob("*.log")).read_text().splitlines()
    begun, took, worked, generation = lines[-1].split()
    assert generation == "2"
    assert float(begun) <= time.monotonic()
    assert float(worked) >= 0
    assert 0 < float(took) < 10


def test_the_collections_in_the_endpoints_runs_are_set_beside_them(tmp_path, monkeypatch):
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    folder = http.gc_dir({"VAR_DIR": str(tmp_path)})
    folder.mkdir()
    (folder / "11.log").write_text("10.0 0.080 0.070 2\n10.5 0.002 0.001 0\n30.0 0.5 0.4 2\n")
    (folder / "12.log").write_text("20.0 0.060 0.020 2\n")

    # The baseline ran 15-19 s, between the endpoint's runs: 30.0 is after both.
    found = http.gc_pauses([(9.0, 14.0), (19.5, 25.0)])

    assert found["gc_full"] == 2
    assert found["gc_longest_ms"] == pytest.approx(80.0)
    assert found["gc_longest_cpu_ms"] == pytest.approx(70.0)
