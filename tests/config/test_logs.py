"""Logs carry the request's id, also in the tasks it queued; LOG_FORMAT=json writes JSON
lines; SENTRY_DSN sends an error to Sentry (a local server that records what it gets)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery.signals import before_task_publish

import config.celery  # noqa: F401 - connects the signal handlers
from config import logs

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]

# In a process of its own, with LOG_FORMAT=json: a request that logs and queues a task that
# logs (tasks run in the caller without a broker, as in `make run`).
REQUEST_AND_TASK = """
import logging, django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
from django.urls import path
import config.urls
from celery import shared_task
from django.http import HttpResponse

@shared_task(name="test.log_in_task")
def log_in_task():
    logging.getLogger("test.task").warning("in the task")

def view(request):
    logging.getLogger("test.view").warning("in the view")
    log_in_task.delay()
    return HttpResponse("ok")

config.urls.urlpatterns.append(path("log-test", view))
setup_test_environment()
answer = Client().get("/log-test", HTTP_X_REQUEST_ID="{request_id}")
print("ANSWER", answer["X-Request-ID"], flush=True)
"""


def run_django(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": "sqlite:///:memory:",
        "ALLOWED_HOSTS": "testserver",
        **env,
    }
    environ.pop("REDIS_URL", None)
    return subprocess.run(  # noqa: S603  (this interpreter, our own code)
        [sys.executable, "-c", code],
        env=environ,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )


def test_json_lines_carry_the_request_id_into_the_task():
    ran = run_django(REQUEST_AND_TASK.format(request_id="req-12345678"), LOG_FORMAT="json")
    assert "ANSWER req-12345678" in ran.stdout
    lines = [json.loads(line) for line in ran.stderr.splitlines() if line.startswith("{")]
    by_logger = {line["logger"]: line for line in lines}
    assert by_logger["test.view"]["message"] == "in the view"
    assert by_logger["test.view"]["request_id"] == "req-12345678"
    assert by_logger["test.task"]["request_id"] == "req-12345678"
    assert set(by_logger["test.task"]) >= {"time", "level", "logger", "message", "request_id"}
    assert by_logger["test.task"]["level"] == "WARNING"


def test_text_lines_show_the_request_id_and_a_bad_one_is_replaced():
    ran = run_django(REQUEST_AND_TASK.format(request_id="bad id with spaces"), LOG_FORMAT="text")
    given = ran.stdout.split("ANSWER ")[1].split()[0]
    assert given != "bad id with spaces"
    assert len(given) == 32
    assert f"test.view [{given}] in the view" in ran.stderr
    assert f"test.task [{given}] in the task" in ran.stderr


def test_the_id_travels_in_the_task_message_headers():
    """Through a broker: the id is put in the message's headers when the task is queued and
    taken from them when a worker starts it."""
    headers: dict[str, object] = {}
    token = logs.request_id.set("req-abcdefgh")
    try:
        before_task_publish.send(sender="papers.embed_papers", headers=headers, body=None)
    finally:
        logs.request_id.reset(token)
    assert headers["request_id"] == "req-abcdefgh"

    class Request:
        request_id = "req-abcdefgh"

    logs.take_from_task(Request())
    assert logs.request_id.get() == "req-abcdefgh"
    logs.leave_task()
    assert logs.request_id.get() == logs.NONE


def test_an_error_goes_to_sentry(httpserver):
    httpserver.expect_request("/api/1/envelope/", method="POST").respond_with_data("{}")
    dsn = f"http://public@{httpserver.host}:{httpserver.port}/1"
    code = """
import django
django.setup()
import sentry_sdk
try:
    raise RuntimeError("something broke in production")
except RuntimeError:
    sentry_sdk.capture_exception()
sentry_sdk.flush(timeout=10)
"""
    run_django(code, SENTRY_DSN=dsn, SENTRY_ENVIRONMENT="test-lab")
    deadline = time.monotonic() + 10
    while not httpserver.log and time.monotonic() < deadline:
        time.sleep(0.1)
    (request, _response), *_ = httpserver.log
    envelope = request.get_data()
    if request.headers.get("Content-Encoding") == "gzip":
        import gzip

        envelope = gzip.decompress(envelope)
    text = envelope.decode()
    assert "something broke in production" in text
    assert '"environment":"test-lab"' in text.replace(" ", "")


def test_sentry_dsn_without_the_package_is_a_clear_error():
    code = """
import builtins, sys
real = builtins.__import__
def without_sentry(name, *args, **kwargs):
    if name.startswith("sentry_sdk"):
        raise ImportError(name)
    return real(name, *args, **kwargs)
builtins.__import__ = without_sentry
import django
try:
    django.setup()
except Exception as exc:
    print(type(exc).__name__, exc)
"""
    ran = run_django(code, SENTRY_DSN="http://public@127.0.0.1:9/1")
    assert "ImproperlyConfigured SENTRY_DSN is set but sentry-sdk is not installed" in ran.stdout
