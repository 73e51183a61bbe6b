"""The one HTTP client for every source: timeout, user agent, retries, pacing."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime

import httpx
from django.conf import settings

from papers.sources.records import SourceError
from papers.sources.text import parse_rfc822_datetime

logger = logging.getLogger(__name__)

USER_AGENT = "DailyPapers/0.1 (self-hosted paper feed; +https://github.com/daily-papers)"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
# A server asking for a longer pause than this is not waited for: the run fails, and the
# next one (or, for a harvest, its checkpoint) takes it up.
MAX_RETRY_AFTER_SECONDS = 600.0


class HTTPStatusError(SourceError):
    """The server answered with an error status that another try will not change.

    Carries the response, so a source can read an error document in its body.
    """

    def __init__(self, message: str, response: httpx.Response) -> None:
        super().__init__(message)
        self.response = response


class Pacer:
    """Keeps at least `delay` seconds between consecutive calls.

    `wait()` before a call; `done()` after it. The pause is counted from the end of the
    previous call (from its start when `done()` is not called): counted from the starts, a
    call slow to connect and a quick one after it would reach the server closer together
    than `delay`.
    """

    def __init__(self, delay: float | None = None) -> None:
        self.delay = delay  # None: read ARXIV_DELAY_SECONDS at each call
        self._last: float | None = None  # None: no call yet, the first one goes at once
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            if self._last is not None:
                delay = settings.ARXIV_DELAY_SECONDS if self.delay is None else self.delay
                pause = self._last + delay - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
            self._last = time.monotonic()

    def done(self) -> None:
        """The call that `wait()` let through has ended."""
        with self._lock:
            self._last = time.monotonic()


def new_client() -> httpx.Client:
    """A client with the project's timeout and user agent, for a run of several calls."""
    return httpx.Client(
        timeout=settings.SOURCE_TIMEOUT_SECONDS,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=True,
    )


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The pause a 429 or 503 asks for in its Retry-After header, in seconds or as a date;
    None when it does not say (or says something unreadable)."""
    header = response.headers.get("Retry-After", "").strip()
    if header.isdigit():
        return float(header)
    if not header:
        return None
    try:
        return max((parse_rfc822_datetime(header) - datetime.now(UTC)).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None


def backoff_seconds(attempt: int, base: float) -> float:
    """Exponential backoff with full jitter: a random pause in [0, base * 2**attempt]."""
    return random.uniform(0, base * (2**attempt))  # noqa: S311 - jitter, not crypto


def fetch(
    url: str,
    *,
    params: Mapping[str, str | int] | None = None,
    pacer: Pacer | None = None,
    client: httpx.Client | None = None,
) -> httpx.Response:
    """GET `url`, retrying 5xx, 429, timeouts and connection errors with backoff, never
    sooner than the server's Retry-After.

    Raises SourceError after the last try, at once for any other 4xx (HTTPStatusError),
    and at once for problems another try cannot fix (a bad URL, a redirect loop, a body
    that cannot be decoded).
    """
    tries = settings.SOURCE_RETRIES
    own_client = client is None
    http = client or new_client()
    last_problem = "no attempt made"
    asked: float | None = None  # the last answer's Retry-After
    try:
        for attempt in range(tries):
            if attempt:
                pause = backoff_seconds(attempt - 1, settings.SOURCE_BACKOFF_SECONDS)
                time.sleep(max(pause, asked or 0.0))
            if pacer is not None:
                pacer.wait()
            try:
                response = http.get(url, params=params)
            except httpx.TimeoutException:
                last_problem = f"timed out after {settings.SOURCE_TIMEOUT_SECONDS:g} s"
            except httpx.TransportError as exc:
                last_problem = f"connection failed ({exc.__class__.__name__}: {exc})"
            except (httpx.RequestError, httpx.InvalidURL) as exc:
                # TooManyRedirects, DecodingError, InvalidURL: not a network hiccup.
                raise SourceError(f"GET {url} failed: {exc.__class__.__name__}: {exc}") from None
            else:
                if response.status_code < 400:
                    return response
                last_problem = f"HTTP {response.status_code}"
                if response.status_code not in RETRY_STATUS:
                    raise HTTPStatusError(f"GET {url} failed: {last_problem}", response)
                asked = retry_after_seconds(response)
                if asked is not None and asked > MAX_RETRY_AFTER_SECONDS:
                    raise SourceError(
                        f"GET {url} failed: {last_problem}, retry after {asked:,.0f} s "
                        f"(longer than the {MAX_RETRY_AFTER_SECONDS:,.0f} s waited for)"
                    )
                if asked is not None:
                    last_problem += f", retry after {asked:g} s"
            finally:
                if pacer is not None:
                    pacer.done()
            logger.warning("GET %s: %s (try %d of %d)", url, last_problem, attempt + 1, tries)
        raise SourceError(f"GET {url} failed after {tries} tries: {last_problem}")
    finally:
        if own_client:
            http.close()
