"""Several web processes behind one port, as `docker compose up --scale web=3` runs them:
whichever process answers, a member stays signed in and sees their vote, every process
shows a vote, a comment and a collection made through another, and rate limits count
across them. Nothing a process keeps is needed by another: what they share is PostgreSQL
and Redis.

Each process is a gunicorn of its own, on a shared port (SO_REUSEPORT: the kernel spreads
connections over them, as a proxy spreads requests over containers) and on a port of its
own, to ask each one; their access logs say which answered what.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

import httpx
import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from accounts.services import api_token_create
from tests.config.servers import database_url, django_env, free_port, gunicorn
from tests.factories import PaperFactory, UserFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.REDIS_URL, reason="processes share state through Redis"),
]
PROCESSES = 3
PASSWORD = "pw-scale-out-123!"


@dataclass
class Site:
    shared: str  # the port every process listens on
    own: list[str]  # each process's own port
    logs: list[Path]

    def served(self) -> list[set[str]]:
        """The request ids each process answered."""
        return [
            {line.split()[0] for line in log.read_text().splitlines() if line.strip()}
            for log in self.logs
        ]


@pytest.fixture
def site(tmp_path) -> Iterator[Site]:
    shared = free_port()
    env = django_env(
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
        VAR_DIR=str(tmp_path / "var"),
        CELERY_TASK_ALWAYS_EAGER="true",
        API_THROTTLE_USER="10/min",  # the limit counted across processes below
        API_THROTTLE_ANON="100000/min",
        PROMETHEUS_MULTIPROC_DIR=None,
    )
    own, logs = [], []
    with ExitStack() as stack:
        for number in range(PROCESSES):
            port, log = free_port(), tmp_path / f"web-{number}.log"
            stack.enter_context(
                gunicorn(env, ports=[shared, port], reuse_port=True, access_log=log)
            )
            own.append(f"http://127.0.0.1:{port}")
            logs.append(log)
        yield Site(f"http://127.0.0.1:{shared}", own, logs)


def client(**kwargs: object) -> httpx.Client:
    """A browser: its cookies, and a request id on every request (the access logs)."""

    def tag(request: httpx.Request) -> None:
        request.headers["X-Request-ID"] = uuid.uuid4().hex

    return httpx.Client(timeout=60, event_hooks={"request": [tag]}, **kwargs)  # type: ignore[arg-type]


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "timed out"
        time.sleep(0.05)
    return time.monotonic() - started


def upvotes(page: str) -> tuple[int, str]:
    """The count and the pressed state of the (only) vote button of a paper page."""
    found = re.search(r'aria-pressed="(\w+)"\s+aria-label="Upvote: (\d+) votes"', page)
    assert found, "no vote button"
    return int(found[2]), found[1]


def test_every_process_answers_for_all_of_them(site):
    paper = PaperFactory()
    alice = UserFactory(username="alice", email="alice@example.org")
    alice.password = PBKDF2PasswordHasher().encode(PASSWORD, "scaleoutsalt")
    alice.save()
    EmailAddress.objects.create(user=alice, email=alice.email, verified=True, primary=True)
    alice_token = api_token_create(user=alice, name="laptop").plaintext
    bob_token = api_token_create(user=UserFactory(), name="script").plaintext
    page = f"/papers/{paper.arxiv_id}"
    member, visitor = client(), client()

    # Sign in through the shared port: every process knows the session.
    member.get(f"{site.shared}/accounts/login/")
    signed_in = member.post(
        f"{site.shared}/accounts/login/",
        data={
            "login": alice.email,
            "password": PASSWORD,
            "csrfmiddlewaretoken": member.cookies["csrftoken"],
        },
    )
    assert signed_in.status_code == HTTPStatus.FOUND
    for base in site.own:
        answer = member.get(f"{base}{page}")
        assert "Log out" in answer.text
        assert upvotes(answer.text) == (paper.votes, "false")
        assert visitor.get(f"{base}/api/papers/{paper.arxiv_id}").json()["upvotes"] == paper.votes

    # A vote through one process: the member sees it at once on every process, visitors
    # within about a second.
    voted = member.post(
        f"{site.shared}{page}/upvote",
        data={"csrfmiddlewaretoken": member.cookies["csrftoken"], "next": page},
    )
    assert voted.status_code == HTTPStatus.FOUND
    for base in site.own:
        assert upvotes(member.get(f"{base}{page}").text) == (paper.votes + 1, "true")

    def everywhere(url: str, shows: Callable[[httpx.Response], bool]) -> float:
        return wait_for(lambda: all(shows(visitor.get(f"{base}{url}")) for base in site.own))

    seconds = everywhere(
        f"/api/papers/{paper.arxiv_id}", lambda r: r.json()["upvotes"] == paper.votes + 1
    )
    assert seconds < 3

    # A comment through one process, on every process's page.
    csrf = member.cookies["csrftoken"]
    commented = member.post(
        f"{site.shared}{page}/comments",
        data={"body": "Seen from every process.", "csrfmiddlewaretoken": csrf},
    )
    assert commented.status_code in {HTTPStatus.OK, HTTPStatus.FOUND, HTTPStatus.SEE_OTHER}
    everywhere(page, lambda r: "Seen from every process." in r.text)

    # A collection made through the API, on every process.
    made = httpx.post(
        f"{site.shared}/api/collections",
        json={"name": "Scaling club", "visibility": "public"},
        headers={"Authorization": f"Bearer {alice_token}"},
        timeout=60,
    )
    assert made.status_code == HTTPStatus.CREATED
    everywhere(f"/collections/{made.json()['slug']}", lambda r: "Scaling club" in r.text)

    # A member's API rate (10 a minute) counts their calls to every process together.
    api = client(headers={"Authorization": f"Bearer {bob_token}"})
    answers = [api.get(f"{site.shared}/api/whoami") for _ in range(20)]
    assert [a.status_code for a in answers].count(HTTPStatus.OK) == 10
    assert [a.status_code for a in answers].count(HTTPStatus.TOO_MANY_REQUESTS) == 10

    # The shared port's requests were spread over every process, the allowed calls too.
    served = site.served()
    assert all(served)
    allowed = {a.request.headers["X-Request-ID"] for a in answers if a.status_code == 200}
    assert sum(1 for ids in served if ids & allowed) >= 2
    print(
        f"\n{PROCESSES} processes answered {[len(ids) for ids in served]} requests; "
        f"visitors saw the vote everywhere after {seconds:.2f} s"
    )
