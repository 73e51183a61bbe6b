"""Subscribing (double opt-in), confirming, managing and leaving, through the pages."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from http import HTTPStatus

import pytest
from allauth.account.models import EmailAddress
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils.timezone import now

from digests import selectors
from digests.models import Delivery, Subscription
from digests.services import sending, subscriptions
from tests.digests.conftest import html_part, subject, text_part
from tests.digests.factories import SubscriptionFactory
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 7, tzinfo=dt.UTC)
SUBSCRIBE = "/digests/"


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOW, tick=True)
    return time_machine


@pytest.fixture
def subscribe(client, django_capture_on_commit_callbacks):
    """POST the subscribe form; queued mail goes out when the request's transaction commits."""

    def post(email: str, frequency: str = "daily", keywords: str = "", **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                SUBSCRIBE,
                {"email": email, "frequency": frequency, "keywords": keywords},
                **extra,
            )

    return post


def without_csrf_tokens(content: bytes) -> bytes:
    return re.sub(rb"[A-Za-z0-9]{64}", b"", content)


def confirm_link(message) -> str:
    [link] = set(
        re.findall(r"https://papers\.example\.org(/digests/confirm/\S+)", text_part(message))
    )
    return link


def test_double_opt_in_end_to_end_over_smtp(smtp, clock, subscribe, settings):
    PaperFactory(title="Friday's best paper", listed_on=dt.date(2026, 6, 12), source_upvotes=8)

    response = subscribe("Reader@Example.org", keywords="")

    assert response.status_code == HTTPStatus.OK
    assert b"Check your inbox" in response.content
    [confirmation] = smtp.messages
    assert confirmation["To"] == "reader@example.org"
    assert subject(confirmation) == "Confirm your Daily Papers subscription"
    assert "expires in 72 hours" in text_part(confirmation)
    link = confirm_link(confirmation)
    assert f'href="https://papers.example.org{link}"' in html_part(confirmation)
    subscription = Subscription.objects.get()
    assert subscription.is_pending

    # Nothing but the confirmation goes out before the link is clicked.
    sending.digests_send_due(frequency="daily")
    assert len(smtp.messages) == 1

    visitor = Client()  # the link opens in the mail reader's browser
    page = visitor.get(link)
    assert page.status_code == HTTPStatus.OK
    assert b"Confirm subscription" in page.content
    subscription.refresh_from_db()
    assert subscription.is_pending  # opening the link (a scanner, a preview) confirms nothing

    confirmed = visitor.post(link)
    assert confirmed.status_code == HTTPStatus.OK
    assert b"You're subscribed" in confirmed.content
    subscription.refresh_from_db()
    assert subscription.is_active

    clock.shift(dt.timedelta(minutes=1))
    sending.digests_send_due(frequency="daily")
    sending.digests_send_due(frequency="daily")
    digest = smtp.messages[-1]
    assert len(smtp.messages) == 2
    assert subject(digest) == "Daily Papers · Fri Jun 12 · Friday's best paper"

    unsubscribe = str(digest["List-Unsubscribe"]).strip()[1:-1]
    assert unsubscribe == (
        f"https://papers.example.org/digests/unsubscribe/{subscription.unsubscribe_token}"
    )
    one_click = Client(enforce_csrf_checks=True)  # a mail provider: no cookie, no session
    response = one_click.post(
        unsubscribe.removeprefix("https://papers.example.org"),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == HTTPStatus.OK  # not a redirect
    subscription.refresh_from_db()
    assert subscription.status == "unsubscribed"

    clock.shift(dt.timedelta(days=1))
    PaperFactory(listed_on=dt.date(2026, 6, 15), source_upvotes=3)
    sending.digests_send_due(frequency="daily")
    assert len(smtp.messages) == 2


def test_the_answer_never_reveals_whether_an_address_was_subscribed(subscribe, smtp, clock):
    SubscriptionFactory(email="pending@example.org", confirmed_at=None, confirmation_sent_at=NOW)
    SubscriptionFactory(email="active@example.org")
    SubscriptionFactory(email="left@example.org", unsubscribed_at=NOW)

    pages = {
        address: subscribe(address)
        for address in (
            "new@example.org",
            "pending@example.org",
            "active@example.org",
            "left@example.org",
        )
    }

    assert {page.status_code for page in pages.values()} == {HTTPStatus.OK}
    bodies = {
        without_csrf_tokens(page.content).replace(address.encode(), b"ADDRESS")
        for address, page in pages.items()
    }
    assert len(bodies) == 1
    assert b"Check your inbox" in bodies.pop()


def test_an_already_active_address_gets_its_manage_link_and_keeps_its_options(
    subscribe, smtp, clock
):
    reader = SubscriptionFactory(email="reader@example.org", keywords=["agents"])

    subscribe("reader@example.org", frequency="weekly", keywords="spam")

    [message] = smtp.messages
    assert subject(message) == "You already receive the Daily Papers digest"
    assert reader.manage_url in text_part(message)
    reader.refresh_from_db()
    assert (reader.frequency, reader.keywords) == ("daily", ["agents"])


def test_at_most_one_reminder_then_silence_until_the_link_expires(subscribe, smtp, clock, settings):
    subscribe("reader@example.org")
    subscribe("reader@example.org", frequency="weekly")
    subscribe("reader@example.org")

    assert [subject(m) for m in smtp.messages] == [
        "Confirm your Daily Papers subscription",
        "Reminder: confirm your Daily Papers subscription",
    ]
    assert subscriptions.subscriptions_remind_unconfirmed(now=NOW + dt.timedelta(hours=30)) == 0
    # Once every link has expired, asking again starts over with a new link.
    clock.shift(dt.timedelta(hours=73))
    subscribe("reader@example.org")
    assert len(smtp.messages) == 3
    assert subject(smtp.messages[2]) == "Confirm your Daily Papers subscription"


def test_the_reminder_job_sends_one_reminder_after_a_day(
    smtp, clock, django_capture_on_commit_callbacks
):
    pending = SubscriptionFactory(
        email="slow@example.org", confirmed_at=None, confirmation_sent_at=NOW
    )
    SubscriptionFactory(email="fresh@example.org", confirmed_at=None, confirmation_sent_at=NOW)
    SubscriptionFactory(email="done@example.org", confirmation_sent_at=NOW - dt.timedelta(days=2))
    Subscription.objects.filter(email="fresh@example.org").update(
        confirmation_sent_at=NOW + dt.timedelta(hours=20)
    )

    later = NOW + dt.timedelta(hours=25)
    with django_capture_on_commit_callbacks(execute=True):
        assert subscriptions.subscriptions_remind_unconfirmed(now=later) == 1
        assert subscriptions.subscriptions_remind_unconfirmed(now=later) == 0

    [reminder] = smtp.messages
    assert reminder["To"] == pending.email
    assert subject(reminder) == "Reminder: confirm your Daily Papers subscription"


def test_an_expired_link_confirms_nothing(subscribe, smtp, clock, client):
    subscribe("reader@example.org")
    link = confirm_link(smtp.messages[0])

    clock.shift(dt.timedelta(hours=73))
    response = client.post(link)

    assert response.status_code == HTTPStatus.GONE
    assert b"expired" in response.content
    assert Subscription.objects.get().is_pending


def test_a_link_replaced_by_a_newer_one_or_altered_does_not_work(subscribe, smtp, clock, client):
    subscribe("reader@example.org")
    first = confirm_link(smtp.messages[0])
    client.post(first)
    subscription = Subscription.objects.get()
    subscriptions.subscription_unsubscribe(subscription=subscription)
    subscribe("reader@example.org")  # back after leaving: a new confirmation
    second = confirm_link(smtp.messages[1])

    assert client.post(first).status_code == HTTPStatus.NOT_FOUND
    assert client.post(second[:-3] + "abc").status_code == HTTPStatus.NOT_FOUND
    subscription.refresh_from_db()
    assert subscription.is_pending
    assert client.post(second).status_code == HTTPStatus.OK
    subscription.refresh_from_db()
    assert subscription.is_active


def test_subscribing_is_rate_limited_per_ip(subscribe, smtp, settings, clock):
    settings.DIGEST_SUBSCRIBE_PER_IP_PER_HOUR = 3
    for n in range(3):
        assert subscribe(f"r{n}@example.org", REMOTE_ADDR="203.0.113.9").status_code == 200

    refused = subscribe("r9@example.org", REMOTE_ADDR="203.0.113.9")

    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert subscribe("r9@example.org", REMOTE_ADDR="198.51.100.1").status_code == 200
    assert len(smtp.messages) == 4


def test_subscribing_is_rate_limited_per_address_without_saying_so(
    subscribe, smtp, settings, clock
):
    settings.DIGEST_SUBSCRIBE_PER_ADDRESS_PER_DAY = 2
    SubscriptionFactory(email="victim@example.org")

    responses = [subscribe("VICTIM@example.org", REMOTE_ADDR=f"10.0.0.{n}") for n in range(4)]

    assert [r.status_code for r in responses] == [200] * 4
    assert len({without_csrf_tokens(r.content) for r in responses}) == 1
    assert len(smtp.messages) == 2
    clock.shift(dt.timedelta(days=1))
    subscribe("victim@example.org")
    assert len(smtp.messages) == 3


def test_invalid_input_is_shown_again_with_errors(client):
    response = client.post(SUBSCRIBE, {"email": "not-an-address", "frequency": "hourly"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    body = response.content.decode()
    assert 'value="not-an-address"' in body
    assert 'aria-invalid="true"' in body
    assert not Subscription.objects.exists()


def test_topic_keywords_are_cleaned(subscribe, smtp, clock):
    subscribe("reader@example.org", keywords=" Diffusion ,LLM;  diffusion, , vision  models ")

    assert Subscription.objects.get().keywords == ["Diffusion", "LLM", "vision models"]


def test_a_member_finds_the_form_prefilled_and_the_subscription_on_the_profile(
    client, alice, subscribe, smtp, clock
):
    client.force_login(alice)

    page = client.get(SUBSCRIBE)
    assert 'value="alice@example.org"' in page.content.decode()
    assert client.get(reverse("digests:mine")).url == SUBSCRIBE

    subscribe("alice@example.org", frequency="weekly")

    subscription = selectors.subscription_for_user(alice)
    assert subscription is not None
    assert subscription.user == alice
    assert subscription.frequency == "weekly"
    assert client.get(reverse("digests:mine")).url == subscription.get_absolute_url()


def test_another_members_address_is_not_linked_to_the_account(client, alice, bob, subscribe):
    EmailAddress.objects.create(user=bob, email=bob.email, verified=True, primary=True)
    client.force_login(alice)

    subscribe("bob@example.org")

    assert Subscription.objects.get().user is None
    assert selectors.subscription_for_user(alice) is None
    assert selectors.subscription_for_user(bob).email == "bob@example.org"


def test_an_address_nobody_verified_links_no_subscription_to_a_member(client, alice):
    """With email verification optional, anyone can sign up with someone else's address:
    that gives them neither the subscription nor its manage link."""
    victim = SubscriptionFactory(email="alice@example.org")  # alice's address, unverified
    EmailAddress.objects.create(user=alice, email=alice.email, verified=False, primary=True)
    client.force_login(alice)

    assert selectors.subscription_for_user(alice) is None
    response = client.get(reverse("digests:mine"))
    assert victim.token not in response.get("Location", "")


def test_resubscribing_never_confirms_a_subscription_that_was_never_confirmed(
    client, mailoutbox, commit
):
    pending = Subscription.objects.create(email="someone@example.org", unsubscribed_at=now())
    url = reverse("digests:manage", args=[pending.token])

    commit(lambda: client.post(url, {"action": "resubscribe"}))

    pending.refresh_from_db()
    assert pending.confirmed_at is None  # still waiting for the mailbox's owner
    assert pending.unsubscribed_at is None
    assert [mail.to for mail in mailoutbox] == [["someone@example.org"]]  # a new confirmation


def test_the_one_click_link_unsubscribes_but_cannot_manage(client):
    reader = SubscriptionFactory()

    manage = client.get(reverse("digests:manage", args=[reader.unsubscribe_token]))
    page = client.get(reverse("digests:unsubscribe", args=[reader.unsubscribe_token]))

    assert manage.status_code == HTTPStatus.NOT_FOUND
    assert page.status_code == HTTPStatus.OK
    assert reader.token not in page.content.decode()


def test_the_manage_page_changes_frequency_and_topics(client):
    reader = SubscriptionFactory()
    url = reverse("digests:manage", args=[reader.token])

    assert client.get(url).status_code == HTTPStatus.OK
    response = client.post(url, {"frequency": "weekly", "keywords": "agents, robots"})

    assert response.status_code == HTTPStatus.OK
    reader.refresh_from_db()
    assert (reader.frequency, reader.keywords) == ("weekly", ["agents", "robots"])
    assert client.post(url, {"frequency": "yearly"}).status_code == HTTPStatus.BAD_REQUEST
    assert client.get(reverse("digests:manage", args=["nope"])).status_code == 404


def test_unsubscribe_get_shows_a_button_and_unsubscribes_nothing(client):
    reader = SubscriptionFactory()
    url = reverse("digests:unsubscribe", args=[reader.token])

    response = client.get(url)

    assert response.status_code == HTTPStatus.OK
    assert f'<form method="post" action="{url}">' in response.content.decode()
    reader.refresh_from_db()
    assert reader.is_active


def test_one_click_unsubscribe_needs_no_cookie_and_stops_pending_digests():
    reader = SubscriptionFactory()
    delivery = Delivery.objects.create(subscription=reader, frequency="daily", period="2026-06-12")
    url = reverse("digests:unsubscribe", args=[reader.token])

    response = Client(enforce_csrf_checks=True).post(
        url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    again = Client(enforce_csrf_checks=True).post(url)

    assert response.status_code == again.status_code == HTTPStatus.OK
    reader.refresh_from_db()
    assert reader.status == "unsubscribed"
    delivery.refresh_from_db()
    assert delivery.status == "skipped"
    assert Client().post(reverse("digests:unsubscribe", args=["unknown"])).status_code == 404


def test_an_unsubscribed_reader_can_come_back_from_the_manage_page(client):
    reader = SubscriptionFactory(unsubscribed_at=NOW)
    url = reverse("digests:manage", args=[reader.token])

    client.post(url, {"action": "resubscribe"})

    reader.refresh_from_db()
    assert reader.is_active


class _Labels(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.open_labels = 0
        self.wrapped: list[dict[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "label":
            self.open_labels += 1
            if attributes.get("for"):
                self.label_for.add(attributes["for"])
        if tag in ("input", "select", "textarea") and attributes.get("type") != "hidden":
            self.controls.append(attributes)
            if self.open_labels:
                self.wrapped.append(attributes)

    def handle_endtag(self, tag):
        if tag == "label":
            self.open_labels -= 1


def test_the_subscribe_partial_labels_every_control_and_posts_to_subscribe(alice):
    request = RequestFactory().get("/")
    request.user = alice

    html = render_to_string(
        "digests/includes/subscribe_form.html", {"user": alice}, request=request
    )

    parser = _Labels()
    parser.feed(html)
    assert {c["name"] for c in parser.controls} == {"email", "frequency", "keywords", "categories"}
    for control in parser.controls:
        assert control.get("id") in parser.label_for or control in parser.wrapped
    assert f'action="{SUBSCRIBE}"' in html
    assert 'method="post"' in html
    assert 'value="alice@example.org"' in html
    assert "csrfmiddlewaretoken" in html


def test_subscriptions_nobody_confirmed_are_purged_after_a_month(time_machine):
    time_machine.move_to(dt.datetime(2026, 5, 1, 9, tzinfo=dt.UTC), tick=False)
    old_pending = Subscription.objects.create(email="old@example.org")
    old_confirmed = Subscription.objects.create(email="kept@example.org", confirmed_at=now())
    time_machine.move_to(dt.datetime(2026, 6, 5, 9, tzinfo=dt.UTC), tick=False)
    recent = Subscription.objects.create(email="new@example.org")

    assert subscriptions.subscriptions_purge_unconfirmed(dry_run=True) == 1
    assert subscriptions.subscriptions_purge_unconfirmed() == 1

    remaining = set(Subscription.objects.values_list("email", flat=True))
    assert remaining == {old_confirmed.email, recent.email}
    assert old_pending.email not in remaining


def test_categories_are_checked_and_kept(client, smtp, clock, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        bad = client.post(
            SUBSCRIBE,
            {"email": "r@example.org", "frequency": "daily", "categories": "cs.LG, cs.XX"},
        )
        good = client.post(
            SUBSCRIBE,
            {"email": "r@example.org", "frequency": "daily", "categories": "cs.LG stat.ML, cs.LG"},
        )

    assert bad.status_code == 400
    assert "cs.XX is not an arXiv category" in bad.content.decode()
    assert good.status_code == 200
    assert Subscription.objects.get().categories == ["cs.LG", "stat.ML"]
