"""Every URL of the site, with hostile values in its path and in every query parameter its
view reads: never a 5xx, for a visitor or a member.

The URL patterns come from the resolver, so a new page is walked without being listed
here; the test fails if a pattern has a converter or a regular expression it does not
know how to fill (add the sample values below), and PARAMETERS must name the query
parameters of each view that reads some.
"""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db

HOSTILE = [
    "9" * 30,  # past 64 bits
    "-1",
    "",
    "é☃\u202e",
    "\x00",
    "x" * 10_240,
    "[]",
    "1e309",
    "%",
    "9999-12-31",
    "9999-W52",
    "cD1nYXJiYWdl",  # base64 of "p=garbage": a forged cursor
]

# The query parameters each view reads, by URL name (the API's too).
PARAMETERS: dict[str | None, list[str]] = {
    "home": ["q", "sort", "page", "category"],
    "latest": ["q", "sort", "page", "category"],
    "day": ["q", "sort", "page", "category"],
    "week": ["q", "sort", "page", "category"],
    "month": ["q", "sort", "page", "category"],
    "category": ["q", "sort", "page", "category"],
    "category-day": ["sort", "page"],
    "category-week": ["sort", "page"],
    "category-month": ["sort", "page"],
    "search": ["q", "page", "category"],
    "search-export": ["q"],
    "save": ["next"],
    "submit": ["paper_id"],
    "feed-rss": ["q", "category"],
    "feed-atom": ["q", "category"],
    "daily-papers": ["date", "week", "month", "submitter", "category", "sort", "p", "limit"],
    "papers": ["since", "until", "q", "has_github", "min_upvotes", "category", "cursor", "limit"],
    "paper-search": ["q", "category", "limit"],
    "paper-comments": ["p", "limit"],
    "profile": ["page"],
    "subscribe": ["email", "frequency", "keywords", "categories"],
    "account_login": ["next"],
    "account_signup": ["next"],
    "upvote": ["next"],
}

# Sample path values per converter; regular-expression routes are filled by hand.
SEGMENTS = {
    "StringConverter": ["9" * 30, "-1", "é☃", "x" * 2000, "9999-12-31", "9999-W52", "0001-01"],
    "SlugConverter": ["9" * 30, "-1", "x" * 2000, "0"],
    "IntConverter": ["0", "9" * 30],
    "ArxivIdConverter": ["2401.12345", "hep-th/9901001", "2401.12345v99999999999999999999"],
    "CitationFormatConverter": ["bib", "csl.json"],
    "PathConverter": ["9" * 30, "é☃/x", "x" * 2000, "a/b/c", "Zoë Ångström"],
    "ApiPaperIdConverter": ["2401.12345", "hep-th/9901001", "2401.12345v99999999999999999999"],
    "CategoryConverter": ["cs.LG", "hep-th", "cs.XX", "a" + "-" * 2000],
}
REGEX_ROUTES = {
    "account_confirm_email": ["/accounts/confirm-email/x/", "/accounts/confirm-email/9-9:9/"],
    "account_reset_password_from_key": ["/accounts/password/reset/key/zz-" + "x" * 300 + "/"],
    "openid_connect_login": ["/accounts/oidc/nope/login/"],
    "openid_connect_callback": ["/accounts/oidc/nope/login/callback/"],
}
SKIPPED = {"admin", "api/^"}  # the admin (staff only, Django's own), DRF's format suffix


def _routes() -> list[tuple[str | None, str, dict]]:
    found = []

    def walk(patterns: list, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                found.append((pattern.name, prefix + str(pattern.pattern), pattern.pattern))

    walk(get_resolver().url_patterns, "")
    return [r for r in found if not any(r[1].startswith(s) for s in SKIPPED)]


def _paths() -> list[tuple[str | None, str]]:
    paths = []
    for name, route, pattern in _routes():
        if name in REGEX_ROUTES:
            paths += [(name, path) for path in REGEX_ROUTES[name]]
            continue
        assert not route.startswith("^"), f"fill {route} by hand"
        assert "(?P<" not in route, f"fill {route} by hand"
        converters = getattr(pattern, "converters", {})
        if not converters:
            paths.append((name, "/" + route))
            continue
        for key, converter in converters.items():
            kind = type(converter).__name__
            assert kind in SEGMENTS, f"no sample values for {kind} ({route})"
            for value in SEGMENTS[kind]:
                path = re.sub(rf"<(?:\w+:)?{key}>", value, route)
                path = re.sub(r"<(?:\w+:)?(\w+)>", "2401.12345", path)  # any other one
                paths.append((name, "/" + path))
    return paths


def _requests() -> list[tuple[str, dict[str, str]]]:
    requests = []
    for name, path in _paths():
        requests.append((path, {}))
        for parameter in [*PARAMETERS.get(name, []), "zzz"]:
            requests += [(path, {parameter: value}) for value in HOSTILE]
    return requests


@pytest.fixture
def site(alice):
    PaperFactory(arxiv_id="2401.12345", listed_on="2026-06-12")
    member = Client()
    member.force_login(alice)
    return {"visitor": Client(raise_request_exception=False), "member": member}


def test_every_pattern_is_walked():
    walked = {name for name, _path in _paths()}
    assert {"day", "paper", "daily-papers", "papers", "confirm", "token-revoke"} <= walked
    assert set(PARAMETERS) - {None} <= walked


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_no_hostile_value_anywhere_gets_a_server_error(site, who):
    client = site[who]
    client.raise_request_exception = False
    failures = []
    for path, query in _requests():
        response = client.get(path, query)
        if response.status_code >= HTTPStatus.INTERNAL_SERVER_ERROR:
            failures.append(f"{response.status_code} {path[:80]} {str(query)[:80]}")
    assert not failures, "\n".join(failures[:20])


def test_a_nul_character_is_refused_with_a_clear_error(client):
    page = client.get("/papers/search", {"q": "a\x00b"})
    api = client.get("/api/papers/search", {"q": "a\x00b"})

    assert page.status_code == api.status_code == HTTPStatus.BAD_REQUEST
    assert "NUL" in page.content.decode()
    assert "NUL" in api.json()["error"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/?page=100000000000000000000000", HTTPStatus.OK),
        ("/papers/search?q=x&page=100000000000000000000000", HTTPStatus.OK),
        ("/papers/week/9999-W52", HTTPStatus.NOT_FOUND),
        ("/papers/date/9999-12-31", HTTPStatus.NOT_FOUND),
        ("/api/papers?cursor=cD1nYXJiYWdl", HTTPStatus.NOT_FOUND),
    ],
)
def test_the_inputs_that_used_to_fail_get_a_clear_answer(client, path, status):
    assert client.get(path).status_code == status
