from __future__ import annotations

import datetime as dt
from http import HTTPStatus

import pytest
import time_machine
from django.contrib.messages import get_messages

from papers.models import Paper
from tests.conftest import ARXIV_ATOM
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 20)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(dt.datetime(2026, 6, 20, 10, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def arxiv_server(httpserver, settings):
    settings.ARXIV_API_URL = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/api/query").respond_with_data(
        ARXIV_ATOM.read_bytes(), content_type="application/atom+xml"
    )
    return httpserver


def test_member_submits_by_url_and_the_paper_is_listed_today(client, alice, arxiv_server):
    client.force_login(alice)

    response = client.post("/papers/submit", {"paper_id": "https://arxiv.org/abs/1201.4869v1"})

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/papers/1201.4869"
    paper = Paper.objects.get(arxiv_id="1201.4869")
    assert (paper.listed_on, paper.submitted_by, paper.version) == (TODAY, alice, 1)
    assert paper.title == "A Luttinger Liquid Core Inside Helium-4 Filled Nanopores"
    request = arxiv_server.log[0][0]
    assert request.args["id_list"] == "1201.4869"
    page = client.get("/papers/1201.4869").content.decode()
    assert "Submitted by alice" in page
    assert "on today" in str([m.message for m in get_messages(response.wsgi_request)])


def test_an_existing_paper_is_not_duplicated(client, alice, arxiv_server):
    existing = PaperFactory(arxiv_id="1201.4869", listed_on=dt.date(2026, 6, 1))
    client.force_login(alice)

    response = client.post("/papers/submit", {"paper_id": "1201.4869"}, follow=True)

    assert response.redirect_chain[-1][0] == "/papers/1201.4869"
    assert "already here" in response.content.decode()
    assert Paper.objects.get().listed_on == existing.listed_on
    assert arxiv_server.log == []


def test_daily_limit(client, alice, arxiv_server, settings):
    settings.SUBMISSIONS_PER_DAY = 1
    client.force_login(alice)
    client.post("/papers/submit", {"paper_id": "1201.4869"})

    response = client.post("/papers/submit", {"paper_id": "cond-mat/0412498"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "You can submit 1 papers a day" in response.content.decode()
    assert Paper.objects.count() == 1


@pytest.mark.parametrize("value", ["", "hello", "2401.1234567", "https://example.org/x"])
def test_not_an_id_is_a_clear_error(client, alice, value):
    client.force_login(alice)

    response = client.post("/papers/submit", {"paper_id": value})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Enter an arXiv id" in response.content.decode()


def test_unknown_id_and_arxiv_down_are_clear_errors(client, alice, httpserver, settings):
    settings.ARXIV_API_URL = httpserver.url_for("").rstrip("/")
    settings.SOURCE_RETRIES = 1
    httpserver.expect_oneshot_request("/api/query").respond_with_data(
        '<feed xmlns="http://www.w3.org/2005/Atom"></feed>', content_type="application/atom+xml"
    )
    httpserver.expect_request("/api/query").respond_with_data("down", status=503)
    client.force_login(alice)

    missing = client.post("/papers/submit", {"paper_id": "2606.99999"})
    down = client.post("/papers/submit", {"paper_id": "2606.99998"})

    assert "arXiv has no paper 2606.99999" in missing.content.decode()
    assert "arXiv could not be reached" in down.content.decode()
    assert Paper.objects.count() == 0


def test_submitting_needs_a_member(client):
    response = client.get("/papers/submit")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("/accounts/login/?next=/papers/submit")


def test_failed_attempts_count_against_a_members_hourly_attempts(
    client, alice, settings, httpserver
):
    settings.ARXIV_API_URL = httpserver.url_for("").rstrip("/")
    settings.SUBMISSION_ATTEMPTS_PER_HOUR = 3
    httpserver.expect_request("/api/query").respond_with_data(
        '<feed xmlns="http://www.w3.org/2005/Atom"></feed>', content_type="application/atom+xml"
    )
    client.force_login(alice)

    answers = [client.post("/papers/submit", {"paper_id": f"2401.0000{n}"}) for n in range(4)]

    assert [a.status_code for a in answers] == [400, 400, 400, 429]  # arXiv has none of them
    assert "Retry-After" in answers[-1]
    assert len(httpserver.log) == 3  # the refused one cost no call to arXiv


def test_a_members_second_submission_waits_while_the_first_is_read_from_arxiv(alice):
    from papers.services import submissions

    inside: list[str] = []

    def slow_fetch(ids: list[str]) -> list:
        inside.append(ids[0])
        with pytest.raises(submissions.SubmissionRefused):
            submissions.paper_submit(user=alice, arxiv_id="2401.00002", fetch=slow_fetch)
        return []

    with pytest.raises(submissions.SubmissionError):
        submissions.paper_submit(user=alice, arxiv_id="2401.00001", fetch=slow_fetch)

    assert inside == ["2401.00001"]  # the second never reached arXiv


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_daily_quota_holds_under_concurrent_submissions(alice, settings, monkeypatch):
    """Two submissions of one member at once, reaching the database together (as from two
    processes whose caches do not see each other's in-flight mark): one paper, not two."""
    import threading

    from django.core.cache import caches
    from django.db import connection

    from papers.services import submissions
    from papers.sources.records import PaperRecord

    settings.SUBMISSIONS_PER_DAY = 1
    monkeypatch.setattr(type(caches["default"]), "add", lambda *args, **kwargs: True)
    both_fetched = threading.Barrier(2)
    outcomes: list[str] = []

    def fetch(ids: list[str]) -> list:
        both_fetched.wait()  # both passed the first quota check
        return [PaperRecord(source="arxiv", arxiv_id=ids[0], title=f"Paper {ids[0]}")]

    def submit(arxiv_id: str) -> None:
        try:
            submissions.paper_submit(user=alice, arxiv_id=arxiv_id, fetch=fetch)
            outcomes.append("created")
        except submissions.SubmissionError as exc:
            outcomes.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(i,)) for i in ("2401.00011", "2401.00012")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert Paper.objects.filter(submitted_by=alice).count() == 1
    assert sorted(outcomes)[0].startswith("You can submit 1 papers a day")
