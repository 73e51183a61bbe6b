"""What each caching layer saves: a request's cost with the layer and without it.

Requests go through Django's WSGI handler in this process, with production settings and
the database and Redis of DATABASE_URL and REDIS_URL (after `generate_data`), warm; each
figure is the median of `--requests` timed calls. One layer is switched off at a time
(its per-process copies emptied and never refilled, or its work done on every request),
so the difference to "every layer" is what that layer saves on each request. The trivial
view is measured in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dailypapers_bench \\
    REDIS_URL=redis://127.0.0.1:6379/3 .venv/bin/python -m bench.layers --json out.json
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.http import ROOT, server_env

Switch = Callable[[], Iterator[None]]


def _environ(path: str, cookie: str | None) -> dict[str, Any]:
    route, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": route,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_X_FORWARDED_PROTO": "https",  # production settings redirect plain HTTP
        "HTTP_ACCEPT_ENCODING": "gzip, deflate",
        "wsgi.input": io.BytesIO(),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
    }
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    return environ


def timed(app: Any, path: str, cookie: str | None, requests: int) -> float:
    """The median milliseconds of `requests` calls, after a warm-up."""
    statuses: list[str] = []

    def start(status: str, headers: Any) -> None:
        statuses.append(status)

    def call() -> None:
        for _chunk in app(_environ(path, cookie), start):
            pass

    for _ in range(30):
        call()
    if not statuses[-1].startswith("200"):
        raise SystemExit(f"{path} answered {statuses[-1]}")
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


@contextmanager
def _emptied(lru: Any) -> Iterator[None]:
    """A per-process copy that is never used: emptied, and unable to keep anything."""
    size = lru.max_bytes
    lru.max_bytes = 0
    lru.clear()
    try:
        yield
    finally:
        lru.max_bytes = size


@contextmanager
def _patched(owner: Any, name: str, value: Any) -> Iterator[None]:
    original = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, original)


def switches() -> dict[str, Switch]:
    """Each layer, switched off."""
    from api import papers as api
    from caching import sessions, skeletons, store, users
    from config import ratelimit
    from papers import caching as papers_caching

    def rebuilt(key: str, build: Any, **kwargs: Any) -> Any:
        return store.build_entry(build, scopes=kwargs.get("scopes", ()))

    return {
        "no copy in the process (the shared cache each time)": lambda: _emptied(store.near),
        "built for each request": lambda: _both(
            _patched(store, "fetch", rebuilt), _patched(store, "peek", lambda *a, **k: None)
        ),
        "built for each request, cards rendered too": lambda: _both(
            _patched(store, "fetch", rebuilt), _emptied(skeletons.fragments)
        ),
        "answered through DRF's request handling": lambda: _patched(
            api, "kept_answer", lambda *a, **k: None
        ),
        "session read from Redis": lambda: _emptied(sessions._sessions),
        "user row read from the database": lambda: _emptied(users._users),
        "upvote marks read from the database": lambda: _emptied(papers_caching._marks),
        "CSRF token masked each time": lambda: _emptied(skeletons._masked),
        "rate limit: a round trip per call": lambda: _patched(ratelimit, "LEASE_MAX", 1),
    }


@contextmanager
def _both(first: Any, second: Any) -> Iterator[None]:
    with first, second:
        yield


def member_cookie() -> str:
    """A signed-in member's session cookie and CSRF cookie."""
    from django.conf import settings
    from django.test import Client

    from accounts.models import User

    user, _ = User.objects.get_or_create(
        username="bench-layers", defaults={"email": "bench-layers@example.org"}
    )
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={'c' * 32}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    env = server_env(0)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.db.models import Count

    from papers.models import Paper

    busiest = (Paper.objects.values("listed_on").annotate(n=Count("id")).order_by("-n").first())[
        "listed_on"
    ]
    app = WSGIHandler()
    member = member_cookie()
    cases = [
        ("trivial view", "/healthz/live", None, []),
        (
            "busiest day, visitor",
            f"/papers/date/{busiest}",
            None,
            [
                "no copy in the process (the shared cache each time)",
                "built for each request",
                "built for each request, cards rendered too",
            ],
        ),
        (
            "busiest day, member",
            f"/papers/date/{busiest}",
            member,
            [
                "no copy in the process (the shared cache each time)",
                "built for each request",
                "session read from Redis",
                "user row read from the database",
                "upvote marks read from the database",
                "CSRF token masked each time",
            ],
        ),
        (
            "api daily_papers",
            f"/api/daily_papers?date={busiest}",
            None,
            [
                "no copy in the process (the shared cache each time)",
                "built for each request",
                "answered through DRF's request handling",
                "rate limit: a round trip per call",
            ],
        ),
    ]
    layers = switches()
    rows = []
    print(f"{'request':<24} {'layer switched off':<52} {'ms':>7} {'saves ms':>9}", flush=True)
    for name, path, cookie, off in cases:
        full = timed(app, path, cookie, args.requests)
        rows.append({"request": name, "path": path, "off": None, "ms": full, "saves_ms": 0.0})
        print(f"{name:<24} {'(every layer on)':<52} {full:>7.3f}", flush=True)
        for layer in off:
            with layers[layer]():
                ms = timed(app, path, cookie, max(args.requests // 4, 50))
            rows.append(
                {"request": name, "path": path, "off": layer, "ms": ms, "saves_ms": ms - full}
            )
            print(f"{'':<24} {layer:<52} {ms:>7.3f} {ms - full:>9.3f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"requests": args.requests, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
