"""The shared HTTP client: retries, what is not retried, pacing, against a real local server."""

from __future__ import annotations

import gzip
import socket
import time

import pytest
from werkzeug import Request, Response

from papers.sources.http import (
    USER_AGENT,
    HTTPStatusError,
    Pacer,
    backoff_seconds,
    fetch,
    new_client,
)
from papers.sources.records import SourceError


@pytest.fixture
def retries(settings):
    settings.SOURCE_RETRIES = 3
    settings.SOURCE_BACKOFF_SECONDS = 0.01
    return 3


def closed_port_url() -> str:
    """A local URL where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/nothing"


def test_an_answer_is_returned_with_the_params_and_user_agent(httpserver):
    httpserver.expect_request("/x", query_string={"a": "1", "b": "two"}).respond_with_data("ok")

    response = fetch(httpserver.url_for("/x"), params={"a": 1, "b": "two"})

    assert response.text == "ok"
    (request, _), *rest = httpserver.log
    assert rest == []
    assert request.headers["User-Agent"] == USER_AGENT


def test_503_and_429_are_retried_until_an_answer(httpserver, retries):
    httpserver.expect_ordered_request("/x").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/x").respond_with_data("slow down", status=429)
    httpserver.expect_ordered_request("/x").respond_with_data("ok")

    assert fetch(httpserver.url_for("/x")).text == "ok"

    assert len(httpserver.log) == 3
    httpserver.check_assertions()


def test_a_server_failing_every_try_gives_up_after_the_configured_tries(httpserver, retries):
    httpserver.expect_request("/x").respond_with_data("down", status=502)

    with pytest.raises(SourceError, match=r"failed after 3 tries: HTTP 502"):
        fetch(httpserver.url_for("/x"))

    assert len(httpserver.log) == retries


def test_a_client_error_fails_at_once_and_keeps_the_response(httpserver, retries):
    httpserver.expect_request("/x").respond_with_data("gone", status=410)

    with pytest.raises(HTTPStatusError, match="HTTP 410") as caught:
        fetch(httpserver.url_for("/x"))

    assert caught.value.response.status_code == 410
    assert caught.value.response.text == "gone"
    assert isinstance(caught.value, SourceError)
    assert len(httpserver.log) == 1


def test_nobody_listening_is_a_connection_failure_after_retries(retries):
    with pytest.raises(SourceError, match=r"after 3 tries: connection failed \(ConnectError"):
        fetch(closed_port_url())


def test_a_redirect_is_followed(httpserver):
    httpserver.expect_request("/old").respond_with_data(
        "", status=301, headers={"Location": httpserver.url_for("/new")}
    )
    httpserver.expect_request("/new").respond_with_data("moved here")

    assert fetch(httpserver.url_for("/old")).text == "moved here"


def test_a_redirect_loop_is_a_source_error_and_not_retried(httpserver, retries):
    httpserver.expect_request("/loop").respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/loop")}
    )

    with pytest.raises(SourceError, match="TooManyRedirects"):
        fetch(httpserver.url_for("/loop"))

    assert len(httpserver.log) == 21  # the first request and httpx's 20 redirects, once


def test_a_body_that_cannot_be_decoded_is_a_source_error(httpserver):
    httpserver.expect_request("/x").respond_with_data(
        b"this is not gzip", headers={"Content-Encoding": "gzip"}
    )

    with pytest.raises(SourceError, match="DecodingError"):
        fetch(httpserver.url_for("/x"))


def test_a_gzipped_body_is_decoded(httpserver):
    httpserver.expect_request("/x").respond_with_data(
        gzip.compress(b"[1, 2]"), headers={"Content-Encoding": "gzip"}
    )

    assert fetch(httpserver.url_for("/x")).json() == [1, 2]


def test_a_url_that_is_not_http_is_a_source_error():
    with pytest.raises(SourceError):
        fetch("ftp://example.invalid/file")


def test_new_client_uses_the_configured_timeout(settings):
    settings.SOURCE_TIMEOUT_SECONDS = 1.5

    with new_client() as client:
        assert client.timeout.read == 1.5
        assert client.timeout.connect == 1.5
        assert client.headers["User-Agent"] == USER_AGENT


def test_backoff_stays_within_its_exponential_bound():
    pauses = [backoff_seconds(3, 0.5) for _ in range(200)]

    assert all(0 <= pause <= 4.0 for pause in pauses)
    assert backoff_seconds(0, 0) == 0


def test_pacer_lets_the_first_call_go_at_once_and_spaces_the_next():
    pacer = Pacer(delay=0.2)

    started = time.monotonic()
    pacer.wait()
    first = time.monotonic()
    pacer.wait()
    second = time.monotonic()

    assert first - started < 0.1
    assert second - first >= 0.19


def test_pacer_without_its_own_delay_reads_the_setting_each_time(settings):
    pacer = Pacer()
    settings.ARXIV_DELAY_SECONDS = 0
    pacer.wait()
    pacer.wait()
    settings.ARXIV_DELAY_SECONDS = 0.15

    started = time.monotonic()
    pacer.wait()

    assert time.monotonic() - started >= 0.1


def test_pacer_counts_the_pause_from_the_end_of_a_slow_call(httpserver):
    """Counted from the starts, a slow call and a quick one would reach the server too close."""
    arrivals: list[float] = []

    def slow_first(request: Request) -> Response:
        arrivals.append(time.monotonic())
        if len(arrivals) == 1:
            time.sleep(0.2)
        return Response("ok")

    httpserver.expect_request("/x").respond_with_handler(slow_first)
    pacer = Pacer(delay=0.3)

    fetch(httpserver.url_for("/x"), pacer=pacer)
    fetch(httpserver.url_for("/x"), pacer=pacer)

    assert arrivals[1] - arrivals[0] >= 0.5


def test_pacer_spaces_retries_too(httpserver, retries):
    arrivals: list[float] = []

    def busy_then_ok(request: Request) -> Response:
        arrivals.append(time.monotonic())
        return Response("busy", status=503) if len(arrivals) == 1 else Response("ok")

    httpserver.expect_request("/x").respond_with_handler(busy_then_ok)

    assert fetch(httpserver.url_for("/x"), pacer=Pacer(delay=0.2)).text == "ok"
    assert arrivals[1] - arrivals[0] >= 0.2
