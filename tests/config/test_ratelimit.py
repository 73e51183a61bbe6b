"""Rate limits: exact across processes, and a round trip per lease rather than per call."""

from __future__ import annotations

import multiprocessing

import pytest
from django.conf import settings

from config import ratelimit

redis_only = pytest.mark.skipif(not settings.REDIS_URL, reason="leases need REDIS_URL")


def test_a_client_gets_its_limit_and_then_waits_for_its_window():
    answers = [ratelimit.take("rl-one", 5, 60) for _ in range(7)]

    assert [allowed for allowed, _left in answers] == [True] * 5 + [False] * 2
    assert all(0 < left <= 60 for _allowed, left in answers)
    assert ratelimit.take("rl-other", 5, 60)[0]  # another client has its own budget


@redis_only
def test_a_busy_client_costs_a_round_trip_per_lease_not_per_call(monkeypatch):
    from redis.commands.core import Script

    calls = []
    original = Script.__call__
    monkeypatch.setattr(
        Script, "__call__", lambda self, *a, **k: calls.append(1) or original(self, *a, **k)
    )

    allowed = [ratelimit.take("rl-busy", 100_000, 60)[0] for _ in range(1_000)]

    assert all(allowed)
    assert len(calls) < 1_000 / ratelimit.LEASE_MAX + 10


def _spend(key: str, limit: int, calls: int, results) -> None:
    ratelimit.forget()  # a process of its own: no lease inherited
    results.put(sum(ratelimit.take(key, limit, 60)[0] for _ in range(calls)))


@redis_only
def test_processes_sharing_a_client_never_give_it_more_than_its_limit():
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    workers = [
        context.Process(target=_spend, args=("rl-shared", 300, 200, results)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    allowed = sum(results.get(timeout=30) for _ in workers)
    for worker in workers:
        worker.join(timeout=30)

    assert 270 <= allowed <= 300  # never more; leases left unused elsewhere cost a few


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.2"),  # no proxy trusted: the header is anyone's to forge
        (1, "203.0.113.9, 198.51.100.7", "198.51.100.7"),  # what our one proxy saw
        (2, "203.0.113.9, 198.51.100.7", "203.0.113.9"),
    ],
)
def test_every_limit_counts_the_same_client_address(rf, settings, proxies, forwarded, expected):
    from allauth.account.adapter import get_adapter
    from rest_framework.throttling import AnonRateThrottle

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": proxies}
    request = rf.get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.0.0.2")

    assert ratelimit.client_ip(request) == expected  # digests' subscribe limits
    assert AnonRateThrottle().get_ident(request) == expected  # the API's throttles
    assert get_adapter(request).get_client_ip(request) == expected  # sign-in limits
