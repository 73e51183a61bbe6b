from __future__ import annotations

from http import HTTPStatus

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_cache_and_broker(client, settings):
    response = client.get("/healthz")

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == body["checks"]["cache"] == "ok"
    assert ("broker" in body["checks"]) is bool(settings.REDIS_URL)
    assert response["Cache-Control"].startswith("max-age=0")


def test_an_unreachable_broker_is_degraded_and_says_nothing_of_why(client, settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    response = client.get("/healthz")

    assert response.status_code == HTTPStatus.OK  # pages are still served from the database
    assert response.json() == {
        "status": "degraded",
        "checks": {"database": "ok", "cache": "ok", "broker": "fail"},
    }
    assert "Connection" not in response.content.decode()  # the exception stays in the log
    assert "broker check failed" in caplog.text


def test_a_failing_database_fails_the_check_without_details(client, monkeypatch):
    from config import views

    def broken() -> None:
        raise RuntimeError("password authentication failed for user postgres")

    monkeypatch.setattr(views, "_database", broken)
    response = client.get("/healthz")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["status"] == "fail"
    assert "password" not in response.content.decode()


def test_live_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz/live")
    assert response.status_code == HTTPStatus.OK
    assert response.content == b"ok"
