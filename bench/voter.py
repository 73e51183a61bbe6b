"""A steady trickle of votes through the API while the HTTP benchmark measures pages.

One thread per member, each with its own keep-alive httpx client and token, toggles the
member's vote on a random paper of a fixed set: `POST /api/papers/<id>/upvote` when the
member has no vote there, `DELETE` the same otherwise, and checks the `upvoted` of the
answer. The threads share the rate evenly, their slots interleaved, so the server sees one
vote every 1/rate s, as from members who vote independently: a member waits for its answer
before its next vote, so with enough members a slow answer delays that member only. A slot
missed all the same is made up at once, up to a second's worth; past that the missed slots
are dropped, so the rate shows the shortfall instead of a burst hiding it.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

CATCH_UP_SECONDS = 1.0


@dataclass(slots=True)
class VoterReport:
    """What the voter achieved between start() and stop()."""

    members: int
    papers: int
    target_per_s: float
    seconds: float
    votes: int
    votes_per_s: float
    errors: int
    p50_ms: float
    p99_ms: float
    cpu_ms_per_vote: float
    error_kinds: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


class Voter:
    """Members voting at `rate` votes/s in background threads until stop()."""

    def __init__(
        self,
        base: str,
        tokens: list[str],
        paper_ids: list[str],
        *,
        rate: float,
        headers: dict[str, str],
        seed: int = 11,
    ) -> None:
        self.base = base
        self.tokens = tokens
        self.paper_ids = paper_ids
        self.rate = rate
        self.headers = headers
        self.seed = seed
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._done: list[float] = []  # when each successful vote was answered (monotonic)
        self._latencies: list[float] = []  # seconds, successful votes only
        self._errors: dict[str, int] = {}
        self._cpu = 0.0
        self.started = 0.0

    def start(self) -> None:
        self.started = time.monotonic()
        self._threads = [
            threading.Thread(target=self._run, args=(i, token), daemon=True)
            for i, token in enumerate(self.tokens)
        ]
        for thread in self._threads:
            thread.start()

    def _error(self, label: str) -> None:
        with self._lock:
            self._errors[label] = self._errors.get(label, 0) + 1

    def _run(self, index: int, token: str) -> None:
        cpu_started = time.thread_time()
        period = len(self.tokens) / self.rate
        due = self.started + index / self.rate  # interleaved with the other members' slots
        rng = random.Random(self.seed + index)
        voted: set[str] = set()
        headers = {**self.headers, "Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=self.base, headers=headers, timeout=30.0) as http:
            while not self._stop.wait(max(0.0, due - time.monotonic())):
                now = time.monotonic()
                if now - due > CATCH_UP_SECONDS:
                    due = now
                due += period
                paper = rng.choice(self.paper_ids)
                upvote = paper not in voted
                begun = time.perf_counter()
                try:
                    response = http.request(
                        "POST" if upvote else "DELETE", f"/api/papers/{paper}/upvote"
                    )
                except httpx.HTTPError as exc:
                    self._error(type(exc).__name__)
                    continue
                elapsed = time.perf_counter() - begun
                if response.status_code != 200:
                    self._error(f"HTTP {response.status_code}")
                    continue
                try:
                    state = response.json().get("upvoted")
                except ValueError:
                    self._error("unreadable body")
                    continue
                if state is not upvote:
                    self._error("wrong vote state")
                    continue
                voted.symmetric_difference_update((paper,))
                with self._lock:
                    self._done.append(time.monotonic())
                    self._latencies.append(elapsed)
        with self._lock:
            self._cpu += time.thread_time() - cpu_started

    def error_kinds(self) -> dict[str, int]:
        """The errors so far, by kind."""
        with self._lock:
            return dict(self._errors)

    def votes_between(self, start: float, end: float) -> int:
        """Successful votes answered between two time.monotonic() readings."""
        with self._lock:
            return sum(start <= done <= end for done in self._done)

    def stop(self) -> VoterReport:
        """Stop the members (each finishes the vote in flight) and report."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)
        seconds = time.monotonic() - self.started
        with self._lock:
            votes = len(self._done)
            return VoterReport(
                members=len(self.tokens),
                papers=len(self.paper_ids),
                target_per_s=self.rate,
                seconds=round(seconds, 3),
                votes=votes,
                votes_per_s=round(votes / seconds, 2) if seconds else 0.0,
                errors=sum(self._errors.values()),
                p50_ms=round(statistics.median(self._latencies) * 1000, 2)
                if self._latencies
                else 0.0,
                p99_ms=round(_percentile(self._latencies, 99) * 1000, 2),
                cpu_ms_per_vote=round(1000 * self._cpu / max(1, votes), 3),
                error_kinds=dict(self._errors),
            )
