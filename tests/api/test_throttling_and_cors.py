"""Rate limits (per client address when anonymous, per token otherwise) and CORS (any
origin may read; preflights allow no writes)."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.test import Client

from accounts.services import api_token_create
from tests.api.conftest import bearer

pytestmark = pytest.mark.django_db

READ = "/api/daily_papers?date=2026-06-12"


def test_anonymous_calls_over_the_rate_get_429_with_retry_after(client, settings):
    settings.API_THROTTLE_ANON = "2/min"

    statuses = [client.get(READ).status_code for _ in range(2)]
    throttled = client.get(READ)
    other_address = client.get(READ, REMOTE_ADDR="10.0.0.2")

    assert statuses == [HTTPStatus.OK, HTTPStatus.OK]
    assert throttled.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert throttled.json()["error"].startswith("Request was throttled.")
    assert other_address.status_code == HTTPStatus.OK


def test_the_rate_is_counted_per_member_whatever_token(
    client, settings, alice, alice_token, bob_token
):
    settings.API_THROTTLE_USER = "2/min"
    settings.API_THROTTLE_ANON = "1000/min"
    second_of_alices = api_token_create(user=alice, name="second").plaintext

    alices = [client.get(READ, headers=bearer(alice_token)).status_code for _ in range(2)]
    her_other_token = client.get(READ, headers=bearer(second_of_alices))
    bobs = client.get(READ, headers=bearer(bob_token))
    anonymous = client.get(READ)

    assert alices == [HTTPStatus.OK, HTTPStatus.OK]
    assert her_other_token.status_code == HTTPStatus.TOO_MANY_REQUESTS  # the same member
    assert bobs.status_code == anonymous.status_code == HTTPStatus.OK


def test_votes_are_limited_per_member_across_tokens_and_the_site(
    client, settings, alice, alice_token
):
    from papers.models import Paper
    from tests.factories import PaperFactory

    settings.VOTE_THROTTLE = "3/min"
    paper = PaperFactory(arxiv_id="2612.00077")
    second = api_token_create(user=alice, name="second").plaintext
    vote = f"/api/papers/{paper.arxiv_id}/upvote"

    first = client.post(vote, headers=bearer(alice_token))
    back = client.delete(vote, headers=bearer(second))
    site = Client()
    site.force_login(alice)
    on_the_site = site.post(f"/papers/{paper.arxiv_id}/upvote")
    refused_api = client.delete(vote, headers=bearer(alice_token))
    refused_site = site.post(f"/papers/{paper.arxiv_id}/upvote")

    assert (first.status_code, back.status_code) == (HTTPStatus.OK, HTTPStatus.OK)
    assert on_the_site.status_code == HTTPStatus.FOUND
    assert refused_api.status_code == refused_site.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "Retry-After" in refused_site
    assert Paper.objects.get().upvote_count == 1  # the refused votes changed nothing


def test_writes_are_throttled_too(client, settings, alice_token):
    settings.API_THROTTLE_USER = "1/min"

    client.get("/api/whoami", headers=bearer(alice_token))
    response = client.post("/api/papers/2606.00001/upvote", headers=bearer(alice_token))

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "Retry-After" in response


def test_a_bad_rate_setting_fails_loudly(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from config import settings as site_settings

    monkeypatch.setenv("API_THROTTLE_ANON", "lots")
    with pytest.raises(ImproperlyConfigured, match="API_THROTTLE_ANON"):
        site_settings._api_rate("API_THROTTLE_ANON", "60/min")
    monkeypatch.setenv("API_THROTTLE_ANON", "5/hour")
    assert site_settings._api_rate("API_THROTTLE_ANON", "60/min") == "5/hour"


def test_any_origin_may_read(client):
    response = client.get(READ, headers={"Origin": "https://elsewhere.example"})

    assert response.status_code == HTTPStatus.OK
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in response


def test_a_preflight_allows_reads_with_a_token(client):
    response = client.options(
        READ,
        headers={
            "Origin": "https://elsewhere.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization, if-none-match",
        },
    )

    assert response.status_code == HTTPStatus.OK
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
    allowed = response["Access-Control-Allow-Headers"]
    assert "authorization" in allowed
    assert "if-none-match" in allowed


@pytest.mark.parametrize(
    ("url", "method"),
    [
        ("/api/papers/2606.00001/upvote", "POST"),
        ("/api/papers/hep-th/9901001/upvote", "DELETE"),
        ("/api/papers/submit", "POST"),
        ("/api/whoami", "GET"),
        ("/api/whoami-v2", "GET"),
    ],
)
def test_writes_and_account_reads_get_no_cors_headers(client, alice_token, url, method):
    """A browser asks before a cross-origin call with a token or a JSON body, and gives up
    without CORS headers in the answer: pages elsewhere cannot upvote or submit."""
    origin = {"Origin": "https://elsewhere.example"}
    preflight = client.options(
        url,
        headers={
            **origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    call = client.generic(method, url, headers={**origin, **bearer(alice_token)})

    for response in (preflight, call):
        assert "Access-Control-Allow-Origin" not in response
        assert "Access-Control-Allow-Methods" not in response


def test_reads_get_cors_headers_on_every_api_path(client):
    origin = {"Origin": "https://elsewhere.example"}
    for url in ["/api/papers/2606.00001", "/api/papers/search?q=x", "/api/papers", "/api/x"]:
        assert client.get(url, headers=origin)["Access-Control-Allow-Origin"] == "*"


def test_pages_outside_the_api_send_no_cors_headers(client):
    response = client.get("/papers/search?q=x", headers={"Origin": "https://elsewhere.example"})

    assert "Access-Control-Allow-Origin" not in response
