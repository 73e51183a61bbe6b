"""Submitting a paper through the API, with the website's rules; a local server stands
in for arXiv's API."""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus

import pytest
from django.utils import timezone

from papers.models import Paper
from tests.api.conftest import bearer
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db

URL = "/api/papers/submit"


def submit(client, token: str, paper_id: str):
    return client.post(
        URL, {"paper_id": paper_id}, content_type="application/json", headers=bearer(token)
    )


def test_submitting_a_new_paper_lists_it_today_and_answers_201(
    client, arxiv_server, alice, alice_token
):
    response = submit(client, alice_token, "https://arxiv.org/abs/2611.01234v2")

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert body["arxiv_id"] == "2611.01234"
    assert body["title"] == "A paper called 2611.01234"
    assert body["authors"] == ["Grace Hopper", "Edsger Dijkstra"]
    assert body["submitter"] == {"username": "alice", "fullname": "alice", "source": "local"}
    assert body["listed_on"] == timezone.now().date().isoformat()
    assert body["published_at"] == "2026-11-20T12:00:00Z"
    paper = Paper.objects.get(arxiv_id="2611.01234")
    assert paper.submitted_by == alice


def test_submitting_a_paper_already_here_answers_200_with_it(client, arxiv_server, alice_token):
    PaperFactory(arxiv_id="2606.00001", title="Already here")

    response = submit(client, alice_token, "2606.00001")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["title"] == "Already here"
    assert Paper.objects.count() == 1
    assert len(arxiv_server.log) == 0  # arXiv was not asked


@pytest.mark.parametrize(
    ("paper_id", "message"),
    [
        ("not an id", "paper_id: Enter an arXiv id (like 2401.12345) or an arXiv URL."),
        ("", "paper_id: This field may not be blank."),
        ("2611.00404", "arXiv has no paper 2611.00404."),
    ],
)
def test_a_bad_submission_is_a_400_with_the_reason(
    client, arxiv_server, alice_token, paper_id, message
):
    response = submit(client, alice_token, paper_id)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"error": message}
    assert Paper.objects.count() == 0


def test_a_submission_without_a_paper_id_is_a_400(client, alice_token):
    response = client.post(URL, {}, content_type="application/json", headers=bearer(alice_token))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"error": "paper_id: This field is required."}


def test_a_submission_takes_json_only(client, alice_token):
    response = client.post(URL, {"paper_id": "2611.01234"}, headers=bearer(alice_token))

    assert response.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    assert response.json()["error"].startswith('Unsupported media type "multipart/form-data')


def test_arxiv_out_of_reach_is_a_400(client, httpserver, settings, alice_token):
    httpserver.expect_request("/api/query").respond_with_data("down", status=503)
    settings.ARXIV_API_URL = httpserver.url_for("").rstrip("/")
    settings.SOURCE_RETRIES = 2

    response = submit(client, alice_token, "2611.01234")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"].startswith("arXiv could not be reached")


def test_the_daily_limit_is_a_429_with_retry_after(client, arxiv_server, settings, alice_token):
    settings.SUBMISSIONS_PER_DAY = 1
    PaperFactory(arxiv_id="2606.00001")

    first = submit(client, alice_token, "2611.01234")
    second = submit(client, alice_token, "2611.05678")
    existing = submit(client, alice_token, "2606.00001")

    assert first.status_code == HTTPStatus.CREATED
    assert second.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert second.json() == {"error": "You can submit 1 papers a day; try again tomorrow."}
    now = datetime.now(UTC)
    seconds_left = 86400 - (now.hour * 3600 + now.minute * 60 + now.second)
    assert abs(int(second["Retry-After"]) - seconds_left) <= 5
    assert existing.status_code == HTTPStatus.OK  # a paper already here is still answered
    assert not Paper.objects.filter(arxiv_id="2611.05678").exists()


def test_the_limit_is_per_member(client, arxiv_server, settings, alice_token, bob_token):
    settings.SUBMISSIONS_PER_DAY = 1
    submit(client, alice_token, "2611.01234")

    response = submit(client, bob_token, "2611.05678")

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["submitter"]["username"] == "bob"


def test_a_hidden_paper_cannot_be_submitted_again(client, arxiv_server, alice_token):
    PaperFactory(arxiv_id="2606.00001", hidden=True)

    response = submit(client, alice_token, "2606.00001")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"error": "This paper was removed by the moderators."}


def test_submitting_needs_a_member(client, arxiv_server):
    response = client.post(URL, {"paper_id": "2611.01234"}, content_type="application/json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert Paper.objects.count() == 0
