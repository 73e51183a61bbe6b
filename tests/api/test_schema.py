"""The OpenAPI document: every endpoint with its real shapes, Swagger UI, and the API
checked against its own schema by Schemathesis (no 5xx, no answer the schema does not
describe)."""

from __future__ import annotations

from http import HTTPStatus

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from accounts.services import api_token_create
from tests.api.conftest import serve_arxiv

pytestmark = pytest.mark.django_db

OPERATIONS = {
    ("/api/daily_papers", "get"),
    ("/api/papers", "get"),
    ("/api/papers/search", "get"),
    ("/api/papers/submit", "post"),
    ("/api/papers/{paper_id}", "get"),
    ("/api/papers/{paper_id}/similar", "get"),
    ("/api/papers/{paper_id}/upvote", "post"),
    ("/api/papers/{paper_id}/upvote", "delete"),
    ("/api/papers/{paper_id}/comment", "post"),
    ("/api/papers/{paper_id}/comments", "get"),
    ("/api/papers/{paper_id}/comment/{comment_id}", "patch"),
    ("/api/papers/{paper_id}/comment/{comment_id}", "delete"),
    ("/api/papers/{paper_id}/comment/{comment_id}/reply", "post"),
    ("/api/papers/{paper_id}/comment/{comment_id}/react", "post"),
    ("/api/papers/{paper_id}/comment/{comment_id}/react", "delete"),
    ("/api/collections", "get"),
    ("/api/collections", "post"),
    ("/api/collections/{owner}/{slug}", "get"),
    ("/api/collections/{owner}/{slug}", "patch"),
    ("/api/collections/{owner}/{slug}", "delete"),
    ("/api/collections/{owner}/{slug}/items", "post"),
    ("/api/collections/{owner}/{slug}/items/{paper_id}", "delete"),
    ("/api/settings/papers/claim", "post"),
    ("/api/whoami", "get"),
    ("/api/whoami-v2", "get"),
}


def test_the_schema_describes_every_endpoint_with_its_shapes(client):
    response = client.get("/api/schema/", {"format": "json"})

    assert response.status_code == HTTPStatus.OK
    document = response.json()
    assert document["openapi"].startswith("3.")
    operations = {
        (path, method) for path, methods in document["paths"].items() for method in methods
    }
    assert operations == OPERATIONS
    for path, method in OPERATIONS:
        operation = document["paths"][path][method]
        success = [code for code in operation["responses"] if code.startswith("2")]
        assert success, f"{method} {path} documents no success"
        for code in success:
            if code != "204":  # No Content: nothing to describe
                assert "application/json" in operation["responses"][code]["content"]
    submit = document["paths"]["/api/papers/submit"]["post"]
    body = submit["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert document["components"]["schemas"][body.rsplit("/", 1)[1]]["required"] == ["paper_id"]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_swagger_ui_is_served(client):
    response = client.get("/api/docs/")

    assert response.status_code == HTTPStatus.OK
    assert "swagger" in response.content.decode().lower()


# Loaded when the module is collected (from the app in this process, no network): the
# lazy `schemathesis.pytest.from_fixture` loader does not work with pytest 9 yet.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@pytest.fixture
def member_token(demo, alice, httpserver, settings):
    """Demo papers, a member's token, and an arXiv stand-in that knows every new-style id.

    As Django's test client does, requests keep the test's database connection: Django
    closes it after a request that leaves it inside a transaction (the test's).
    """
    serve_arxiv(httpserver, settings, known=lambda arxiv_id: arxiv_id[:1].isdigit())
    settings.SUBMISSIONS_PER_DAY = 3
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield api_token_create(user=alice, name="schemathesis").plaintext
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@schema.parametrize()
@hypothesis_settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_as_its_schema_says(case, member_token):
    case.call_and_validate(
        # Called in process, answers are not decompressed as an HTTP client would:
        # ask for them plain (tests/papers/test_compression.py covers gzip).
        headers={"Authorization": f"Bearer {member_token}", "Accept-Encoding": "identity"},
        # Every check but two. A schema cannot say which strings that fit a pattern are
        # real days, weeks, months or arXiv ids (2026-02-30, 2026-W54, 0000.00000 are
        # rightly a 400), nor that date, week and month exclude each other; and an empty
        # parameter (`limit=`) counts as not given, as in any HTML form, not as an error.
        excluded_checks=[
            schemathesis.checks.positive_data_acceptance,
            schemathesis.checks.negative_data_rejection,
        ],
    )
