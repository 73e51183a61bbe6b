"""The caching design (papers/caching): scoped invalidation, bounded staleness, no
stampede, one rendering per card, and nothing personal in a shared entry."""

from __future__ import annotations

import datetime as dt
import pickle
import re
import time
from http import HTTPStatus

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache, caches
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.signals import template_rendered
from django.test.utils import CaptureQueriesContext
from django.utils.text import slugify

from caching import skeletons, store
from caching.generations import Generations, generations
from papers import caching
from papers.models import Paper
from papers.services.votes import paper_upvote
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 14, 9, 0, tzinfo=dt.UTC)  # the demo day is in trending's week
DAY = "/papers/date/2026-06-12"
HOT = "2606.13681"  # a demo paper


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def one_second(monkeypatch):
    """The real bound: a changed entry is rebuilt at most once a second."""
    monkeypatch.setattr(store, "REFRESH_SECONDS", 1.0)


@pytest.fixture
def demo():
    call_command("load_demo", stdout=None)


def card(page: str, arxiv_id: str) -> str:
    start = page.index(f'id="paper-{slugify(arxiv_id)}"')
    return page[start : page.index("</article>", start)]


def count_on(page: str, arxiv_id: str) -> int:
    return int(re.search(r'<span class="count">(\d+)</span>', card(page, arxiv_id))[1])


def body(response) -> str:
    assert response.status_code == HTTPStatus.OK, response.status_code
    return response.content.decode()


def member(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the entry store ----------------------------------------------------------------------


class Builder:
    """A builder that counts its calls."""

    def __init__(self, *, scopes=(), during=None):
        self.calls = 0
        self.scopes = scopes
        self.during = during

    def __call__(self) -> store.Built:
        self.calls += 1
        if self.during:
            self.during()
        return store.Built(f"value {self.calls}", self.scopes, 10)


def test_an_entry_is_built_once_and_served_until_its_scope_changes():
    build = Builder()

    first = store.fetch("t:one", build, scopes=["paper:x"])
    again = store.fetch("t:one", build, scopes=["paper:x"])
    generations.bump(soft=["paper:other"])
    unrelated = store.fetch("t:one", build, scopes=["paper:x"])
    generations.bump(soft=["paper:x"])
    changed = store.fetch("t:one", build, scopes=["paper:x"])

    assert [first.value, again.value, unrelated.value, changed.value] == [
        "value 1",
        "value 1",
        "value 1",
        "value 2",
    ]


def test_a_soft_change_is_served_late_for_at_most_the_refresh_time(one_second, clock):
    build = Builder()
    store.fetch("t:soft", build, scopes=["day:d"])

    generations.bump(soft=["day:d"])
    within = store.fetch("t:soft", build, scopes=["day:d"])
    clock.shift(store.REFRESH_SECONDS + 0.01)
    after = store.fetch("t:soft", build, scopes=["day:d"])

    assert (within.value, after.value) == ("value 1", "value 2")


def test_a_hard_change_is_never_served_late(one_second, clock):
    build = Builder()
    store.fetch("t:hard", build, scopes=["paper:x"])

    generations.bump(hard=["paper:x"])
    cache.add(store.shared_key("t:hard") + ":rebuilding", 1, timeout=30)  # somebody rebuilds

    assert store.fetch("t:hard", build, scopes=["paper:x"]).value == "value 2"


def test_while_one_request_rebuilds_the_others_get_the_previous_copy(clock):
    build = Builder()
    store.fetch("t:lock", build, scopes=["day:d"])
    generations.bump(soft=["day:d"])

    lock = store.shared_key("t:lock") + ":rebuilding"
    cache.add(lock, 1, timeout=30)  # another process is rebuilding it
    served = store.fetch("t:lock", build, scopes=["day:d"])
    cache.delete(lock)  # it is done (or its lock expired)
    again = store.fetch("t:lock", build, scopes=["day:d"])  # not asked again so soon
    clock.shift(store.RECHECK_SECONDS)
    rebuilt = store.fetch("t:lock", build, scopes=["day:d"])

    assert (served.value, again.value, rebuilt.value) == ("value 1", "value 1", "value 2")


def test_a_change_during_the_build_leaves_the_entry_out_of_date():
    known = Builder(during=lambda: generations.bump(soft=["day:d"]))
    store.fetch("t:race", known, scopes=["day:d"])
    assert store.fetch("t:race", known, scopes=["day:d"]).value == "value 2"

    # A scope the build finds itself is read after it: a change announced meanwhile makes
    # the entry doubtful, and the next request rebuilds it.
    found = Builder(scopes=["paper:y"], during=lambda: generations.bump(soft=["paper:z"]))
    store.fetch("t:found", found)
    assert store.fetch("t:found", found).value == "value 2"


def test_an_entry_older_than_its_max_age_is_rebuilt(clock):
    build = Builder()
    store.fetch("t:age", build, max_age=60)
    clock.shift(59)
    assert store.fetch("t:age", build, max_age=60).value == "value 1"
    clock.shift(2)
    assert store.fetch("t:age", build, max_age=60).value == "value 2"


def test_a_change_to_everything_reaches_every_entry(commit):
    build = Builder()
    store.fetch("t:all", build, scopes=["paper:x"])
    commit(lambda: caching.changed(everything=True))
    assert store.fetch("t:all", build, scopes=["paper:x"]).value == "value 2"


def test_when_the_shared_cache_is_down_answers_are_built_from_the_database(monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    build = Builder()
    store.fetch("t:down", build)

    def down(*args, **kwargs):
        raise RedisConnectionError("the cache is down")

    monkeypatch.setattr(generations, "read", down)
    monkeypatch.setattr(type(caches["default"]), "get", down)
    monkeypatch.setattr(type(caches["default"]), "set", down)
    assert store.fetch("t:down", build).value == "value 2"
    assert store.fetch("t:down", build).value == "value 3"


# --- generations across processes (Redis) ----------------------------------------------------


def _wait_for(condition, seconds=3.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


redis_only = pytest.mark.skipif(not settings.REDIS_URL, reason="pub/sub needs REDIS_URL")


@redis_only
def test_generations_are_read_without_a_round_trip_and_follow_other_processes(monkeypatch):
    from redis.client import Redis

    mine = Generations()
    theirs = Generations()  # another process's copy
    assert mine.read(["paper:p"]) == {"paper:p": (0, 0)}
    _wait_for(lambda: mine._alive_until > time.monotonic())  # the listener is subscribed
    mine.read(["paper:p"])  # keeps a copy

    reads = []
    original = Redis.hmget
    monkeypatch.setattr(Redis, "hmget", lambda self, *a: reads.append(a) or original(self, *a))
    assert mine.read(["paper:p"]) == {"paper:p": (0, 0)}
    assert reads == []

    theirs.bump(soft=["paper:p"])
    _wait_for(lambda: mine.read(["paper:p"])["paper:p"][0] != 0)
    assert reads == []  # the announcement carried the new generation
    assert mine.read(["paper:p"]) == theirs.read(["paper:p"])


@redis_only
def test_without_a_live_subscription_every_read_asks_redis():
    import os

    mine = Generations()
    mine._pid = os.getpid()  # its listener never subscribes, as with a lost connection
    before = mine.read(["day:d"])["day:d"]

    Generations().bump(soft=["day:d"])  # another process, whose announcement is lost

    assert mine.read(["day:d"])["day:d"] != before


@redis_only
def test_a_change_is_one_round_trip(monkeypatch):
    from redis.client import Pipeline

    sent = []
    execute = Pipeline.execute
    monkeypatch.setattr(Pipeline, "execute", lambda self, *a: sent.append(1) or execute(self, *a))

    generations.bump(soft=["paper:a", "day:d"], hard=["member:1"])

    assert sent == [1]


# --- pages and answers -------------------------------------------------------------------------


def test_a_member_sees_their_vote_at_once_and_visitors_within_a_second(
    demo, alice, one_second, clock, commit
):
    visitor, alices = Client(), member(alice)
    before = count_on(body(visitor.get(DAY)), HOT)
    body(alices.get(DAY))

    commit(lambda: paper_upvote(paper=Paper.objects.get(arxiv_id=HOT), user=alice))

    mine = body(alices.get(DAY))
    assert count_on(mine, HOT) == before + 1
    assert 'aria-pressed="true"' in card(mine, HOT)
    assert count_on(body(visitor.get(DAY)), HOT) == before  # within the second
    clock.shift(store.REFRESH_SECONDS + 0.01)
    assert count_on(body(visitor.get(DAY)), HOT) == before + 1


def test_a_vote_rebuilds_only_what_shows_its_paper(alice, client, clock, commit):
    # Titles with no word in common: b's related papers (a full-text match) are not a.
    a = PaperFactory(listed_on=dt.date(2026, 6, 10), title="Quantum tunnelling in crystals")
    b = PaperFactory(listed_on=dt.date(2026, 6, 11), title="Zebra herds migrate by season")
    pages = ["/papers/date/2026-06-10", "/papers/date/2026-06-11", f"/papers/{b.arxiv_id}"]
    for page in pages:
        body(client.get(page))

    commit(lambda: paper_upvote(paper=a, user=alice))

    with CaptureQueriesContext(connection) as other_day:
        body(client.get("/papers/date/2026-06-11"))
        body(client.get(f"/papers/{b.arxiv_id}"))
    with CaptureQueriesContext(connection) as its_day:
        assert count_on(body(client.get("/papers/date/2026-06-10")), a.arxiv_id) == 1
    assert len(other_day) == 0  # served from this process's copy: no query at all
    assert len(its_day) > 0


def test_hiding_a_paper_removes_it_from_every_page_and_answer_at_once(
    demo, alice, staff, one_second, clock, commit
):
    hot = Paper.objects.get(arxiv_id=HOT)
    word = max(re.findall(r"[A-Za-z]{5,}", hot.title), key=len)
    other = Paper.objects.filter(listed_on=hot.listed_on).exclude(pk=hot.pk).first()
    urls = [
        "/",
        DAY,
        "/papers/week/2026-W24",
        "/papers/month/2026-06",
        "/papers/trending",
        f"/papers/search?q={word}",
        f"/papers/{other.arxiv_id}",
        "/api/daily_papers?date=2026-06-12",
        f"/api/papers/search?q={word}",
    ]
    visitor, alices = Client(), member(alice)
    for client in (visitor, alices):
        for url in urls:
            assert client.get(url).status_code == HTTPStatus.OK
    assert HOT in body(visitor.get(DAY))

    admin = member(staff)
    response = commit(
        lambda: admin.post("/admin/papers/paper/", {"action": "hide", "_selected_action": [hot.pk]})
    )
    assert response.status_code == HTTPStatus.FOUND

    for client in (visitor, alices):
        for url in urls:
            assert HOT not in body(client.get(url)), url
    assert visitor.get(f"/papers/{HOT}").status_code == HTTPStatus.NOT_FOUND
    assert visitor.get(f"/api/papers/{HOT}").status_code == HTTPStatus.NOT_FOUND


def test_every_list_reuses_each_papers_card(demo, alice, clock):
    rendered = []

    def record(sender, template, context, **kwargs):
        if template.name == "includes/paper_card.html":
            rendered.append((context["paper"].arxiv_id, context["user"].is_authenticated))

    template_rendered.connect(record)
    try:
        for client in (Client(), member(alice)):
            for url in (
                "/",
                DAY,
                "/papers/week/2026-W24",
                "/papers/month/2026-06",
                "/papers/trending",
            ):
                body(client.get(url))
            body(client.get("/papers/search?q=model"))
    finally:
        template_rendered.disconnect(record)

    assert len(rendered) == len(set(rendered)) == 2 * 30  # each card once for each audience


def test_unknown_parameters_are_served_from_the_same_entry(demo, client, clock):
    body(client.get(DAY))
    with CaptureQueriesContext(connection) as queries:
        for n in range(5):
            body(client.get(f"{DAY}?utm_source={n}&x={'y' * 100}"))
    assert len(queries) == 0
    assert not [key for key in store.near.keys() if "utm_source" in key]  # noqa: SIM118


def test_nothing_personal_reaches_another_clients_page_or_the_caches(demo, alice, bob, clock):
    alices, bobs, visitor = member(alice), member(bob), Client()
    urls = [DAY, "/papers/trending", f"/papers/{HOT}", "/papers/search?q=model"]
    urls += ["/api/papers/search?q=model", "/api/daily_papers?date=2026-06-12"]
    seen = [body(alices.get(url)) for url in urls]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', seen[0]).group(1)
    secret = alices.cookies[settings.CSRF_COOKIE_NAME].value
    assert alice.email in seen[0]

    for client in (bobs, visitor):
        for url in urls:
            page = body(client.get(url))
            for private in (alice.email, token, secret):
                assert private not in page, url

    kept = [pickle.dumps(entry) for entry in store.near.values()]
    if settings.REDIS_URL:
        redis = cache._cache.get_client()
        kept += [redis.get(key) or b"" for key in redis.keys("*cache:entry:*")]
    else:
        kept += list(cache._cache.values())
    for blob in kept:
        for private in (alice.email, token, secret):
            assert private.encode() not in blob


def test_a_members_page_is_filled_for_them_and_its_forms_work(demo, alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    page = body(client.get(DAY))

    assert "\x00" not in page
    assert alice.email in page
    form = card(page, HOT)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    next_page = re.search(r'name="next" value="([^"]+)"', form).group(1)
    response = client.post(
        f"/papers/{HOT}/upvote", {"csrfmiddlewaretoken": token, "next": next_page}
    )

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == DAY
    assert Paper.objects.get(arxiv_id=HOT).upvote_count == 1


def test_a_warm_members_page_costs_no_query(demo, alice, django_assert_num_queries):
    client = member(alice)
    body(client.get(DAY))
    with django_assert_num_queries(0):  # their session, user row and marks are kept
        page = body(client.get(DAY))
    assert alice.email in page


def test_a_member_whose_password_changed_is_signed_out_at_once(demo, alice, commit):
    client = member(alice)
    body(client.get(DAY))

    def change() -> None:
        alice.set_password("a-new-password-123!")
        alice.save()

    commit(change)

    assert alice.email not in body(client.get(DAY))


def test_a_deactivated_member_is_signed_out_at_once(demo, alice, commit):
    client = member(alice)
    body(client.get(DAY))

    alice.is_active = False
    commit(alice.save)

    assert alice.email not in body(client.get(DAY))


def test_a_session_ended_elsewhere_is_not_honoured_from_the_copy(demo, alice):
    browser = member(alice)
    body(browser.get(DAY))
    elsewhere = Client()  # the same session, in another tab served by another process
    elsewhere.cookies[settings.SESSION_COOKIE_NAME] = browser.cookies[
        settings.SESSION_COOKIE_NAME
    ].value

    assert elsewhere.post("/accounts/logout/").status_code == HTTPStatus.FOUND

    assert alice.email not in body(browser.get(DAY))


def test_the_api_says_how_old_its_answer_is(demo, client, clock):
    first = client.get("/api/daily_papers?date=2026-06-12")
    clock.shift(30)
    later = client.get("/api/daily_papers?date=2026-06-12")

    assert (first["Age"], later["Age"]) == ("0", "30")
    assert first["ETag"] == later["ETag"]


def test_a_query_cannot_forge_a_hole(client, clock):
    marker = skeletons.hole("csrf")  # what a forger would need: NUL characters around it
    refused = client.get("/papers/search", {"q": f"title {marker}"})
    shown = client.get("/papers/search", {"q": f"title {marker.strip(chr(0))}"})

    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert f"title {skeletons._NONCE}:csrf" in body(shown)  # text, not taken for a hole
