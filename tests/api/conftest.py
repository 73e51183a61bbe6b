"""The API tests' helpers: a clean cache, generous rates, tokens and demo data."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.management import call_command
from werkzeug import Request, Response

from accounts.services import api_token_create
from papers.sources.records import split_arxiv_id

KNOWN_ON_ARXIV = {"2611.01234", "2611.05678", "2611.09999"}


@pytest.fixture(autouse=True)
def _api_defaults(settings):
    """Each test starts with an empty cache (rate counters, cached reads) and rates no test
    reaches by accident; the throttling tests set their own. Passwords hash fast."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.API_THROTTLE_ANON = "100000/min"
    settings.API_THROTTLE_USER = "100000/min"
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def demo(db):
    """The 30 recorded Hugging Face daily papers of 2026-06-12."""
    call_command("load_demo", stdout=None)


@pytest.fixture
def alice_token(alice) -> str:
    return api_token_create(user=alice, name="alice's laptop").plaintext


@pytest.fixture
def bob_token(bob) -> str:
    return api_token_create(user=bob, name="bob's script").plaintext


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def atom(ids: list[str]) -> str:
    entries = "".join(
        f"""
  <entry>
    <id>http://arxiv.org/abs/{arxiv_id}v2</id>
    <title>A paper called {arxiv_id}</title>
    <summary>What {arxiv_id} found.</summary>
    <published>2026-11-20T12:00:00Z</published>
    <updated>2026-11-21T12:00:00Z</updated>
    <author><name>Grace Hopper</name></author>
    <author><name>Edsger Dijkstra</name></author>
    <arxiv:primary_category term="cs.LG"/>
    <category term="cs.LG"/>
  </entry>"""
        for arxiv_id in ids
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom"
      xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">
  <title>arXiv Query</title>
  <opensearch:totalResults>{len(ids)}</opensearch:totalResults>{entries}
</feed>"""


@pytest.fixture
def arxiv_server(httpserver, settings):
    """A stand-in for arXiv's API: it knows the papers in KNOWN_ON_ARXIV."""
    return serve_arxiv(httpserver, settings, known=lambda arxiv_id: arxiv_id in KNOWN_ON_ARXIV)


def serve_arxiv(httpserver, settings, *, known):
    """Answer arXiv id_list queries with an entry for each id that `known` accepts."""

    def answer(request: Request) -> Response:
        asked = [split_arxiv_id(i)[0] for i in request.args.get("id_list", "").split(",") if i]
        return Response(atom([i for i in asked if known(i)]), content_type="text/xml")

    httpserver.expect_request("/api/query").respond_with_handler(answer)
    settings.ARXIV_API_URL = httpserver.url_for("").rstrip("/")
    return httpserver
