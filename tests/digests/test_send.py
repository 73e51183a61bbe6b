"""Sending digests: content, exactly once per subscriber and period, failures and crashes."""

from __future__ import annotations

import datetime as dt
import signal
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from digests.models import Delivery, Subscription
from digests.periods import daily_period, weekly_period
from digests.services.sending import INTERRUPTED, deliveries_send_retries, digests_send_due
from digests.services.subscriptions import subscription_unsubscribe
from tests.digests.conftest import header, html_part, subject, text_part
from tests.digests.factories import SubscriptionFactory
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db

MONDAY_MORNING = dt.datetime(2026, 6, 15, 7, 0, tzinfo=dt.UTC)
FRIDAY = dt.date(2026, 6, 12)


@pytest.fixture
def monday(time_machine):
    time_machine.move_to(MONDAY_MORNING, tick=True)
    return time_machine


@pytest.fixture
def papers():
    """Friday's listing: votes decide the order (local + Hugging Face)."""
    return [
        PaperFactory(
            title="Sparse attention for long video",
            listed_on=FRIDAY,
            source_upvotes=40,
            upvote_count=2,
        ),
        PaperFactory(
            title="Diffusion models that reason",
            listed_on=FRIDAY,
            source_upvotes=10,
            ai_summary="A diffusion model plans before it paints.",
        ),
        PaperFactory(title="A benchmark for agents", listed_on=FRIDAY, source_upvotes=5),
        PaperFactory(
            title="Robot grasping at scale",
            listed_on=dt.date(2026, 6, 13),  # Saturday: in Monday's digest too
            source_upvotes=1,
            ai_keywords=["robotics", "manipulation"],
        ),
        PaperFactory(title="Hidden paper", listed_on=FRIDAY, source_upvotes=99, hidden=True),
        PaperFactory(title="Thursday's paper", listed_on=dt.date(2026, 6, 11), source_upvotes=50),
    ]


def subscribers(count: int, **kwargs) -> list[Subscription]:
    return [SubscriptionFactory(**kwargs) for _ in range(count)]


def test_daily_digest_twice_sends_one_mail_per_subscriber(smtp, monday, papers):
    readers = subscribers(7)

    first = digests_send_due(frequency="daily")
    second = digests_send_due(frequency="daily")

    assert first.period == "2026-06-12"
    assert (first.planned, first.sent) == (7, 7)
    assert (second.planned, second.sent) == (0, 0)
    assert smtp.count_by_recipient() == {r.email: 1 for r in readers}
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
    assert Delivery.objects.count() == 7


def test_unconfirmed_and_unsubscribed_addresses_receive_nothing(smtp, monday, papers):
    active = SubscriptionFactory()
    SubscriptionFactory(email="pending@example.org", confirmed_at=None)
    SubscriptionFactory(email="left@example.org", unsubscribed_at=MONDAY_MORNING)
    SubscriptionFactory(email="weekly@example.org", frequency="weekly")

    digests_send_due(frequency="daily")

    assert smtp.count_by_recipient() == {active.email: 1}


def test_digest_lists_the_top_papers_with_links_authors_summary_and_votes(
    smtp, monday, papers, settings
):
    settings.DIGEST_TOP_N = 3
    reader = SubscriptionFactory()

    digests_send_due(frequency="daily")

    [message] = smtp.to(reader.email)
    text, html = text_part(message), html_part(message)
    assert subject(message) == "Daily Papers · Fri Jun 12 · Sparse attention for long video"
    order = [text.index(p.title) for p in papers[:3]]
    assert order == sorted(order)  # most votes first
    assert "Robot grasping" not in text  # the fourth is past the top 3
    assert "Hidden paper" not in text
    assert "Thursday" not in text
    for paper in papers[:3]:
        assert f"https://papers.example.org/papers/{paper.arxiv_id}" in text
        assert f'href="https://papers.example.org/papers/{paper.arxiv_id}"' in html
    assert "Ada Lovelace, Alan Turing" in text
    assert "Ada Lovelace, Alan Turing" in html
    assert "42 upvotes" in text
    assert "42 upvotes" in html
    assert "A diffusion model plans before it paints." in text  # the AI summary
    first_sentence = papers[0].abstract.split(". ")[0]
    assert first_sentence in text  # no AI summary: the abstract's first sentences
    assert papers[0].abstract not in text  # ...not all of it


def test_keywords_select_matching_papers_and_no_match_means_no_mail(smtp, monday, papers):
    robots = SubscriptionFactory(keywords=["Robotics"])  # matched in the AI keywords
    diffusion = SubscriptionFactory(keywords=["diffusion", "quantum"])
    nothing = SubscriptionFactory(keywords=["protein folding"])

    report = digests_send_due(frequency="daily")

    [robot_mail] = smtp.to(robots.email)
    assert subject(robot_mail).endswith("· Robot grasping at scale")
    assert "Sparse attention" not in text_part(robot_mail)
    [diffusion_mail] = smtp.to(diffusion.email)
    assert "Diffusion models that reason" in text_part(diffusion_mail)
    assert "A benchmark for agents" not in text_part(diffusion_mail)
    assert "about diffusion, quantum" in text_part(diffusion_mail)
    assert smtp.to(nothing.email) == []
    assert report.skipped == 1
    assert Delivery.objects.get(subscription=nothing).status == "skipped"


def test_a_period_without_papers_sends_nothing(smtp, monday):
    SubscriptionFactory()
    PaperFactory(listed_on=dt.date(2026, 6, 11))

    report = digests_send_due(frequency="daily")

    assert report.papers == 0
    assert smtp.messages == []
    assert not Delivery.objects.exists()


def test_every_mail_has_one_click_unsubscribe_headers_and_footer_links(smtp, monday, papers):
    reader = SubscriptionFactory(email="o'brien@example.org")

    digests_send_due(frequency="daily")

    [message] = smtp.to(reader.email)
    unsubscribe = f"https://papers.example.org/digests/unsubscribe/{reader.unsubscribe_token}"
    manage = f"https://papers.example.org/digests/manage/{reader.token}"
    assert header(message, "List-Unsubscribe") == f"<{unsubscribe}>"
    assert reader.token not in header(message, "List-Unsubscribe")  # it cannot manage
    assert header(message, "List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    assert message["Message-ID"].endswith("@papers.example.org>")
    assert message["Date"].datetime.tzinfo is not None
    assert message["From"] == "Daily Papers <digests@papers.example.org>"
    assert message.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]  # plain text first
    text, html = text_part(message), html_part(message)
    assert unsubscribe in text
    assert manage in text
    assert f'href="{unsubscribe}"' in html
    assert f'href="{manage}"' in html
    assert "o'brien@example.org subscribed" in text
    assert "o&#x27;brien@example.org subscribed" in html
    delivery = Delivery.objects.get(subscription=reader)
    assert delivery.message_id == message["Message-ID"]
    assert delivery.paper_count == 4


def test_subscribers_with_the_same_topics_get_their_own_links(smtp, monday, papers):
    one, two = subscribers(2, keywords=["agents"])

    digests_send_due(frequency="daily")

    for reader, other in ((one, two), (two, one)):
        [message] = smtp.to(reader.email)
        assert reader.token in text_part(message)
        assert reader.token in html_part(message)
        assert other.token not in text_part(message) + html_part(message)
        assert other.email not in text_part(message)


def test_a_refused_recipient_is_retried_later_and_everyone_gets_exactly_one(
    smtp, monday, papers, settings
):
    settings.DIGEST_RETRY_BACKOFF_SECONDS = 600
    readers = subscribers(8)
    smtp.refuse_rcpt(5)  # the 5th message of the run, in the middle of the second batch

    report = digests_send_due(frequency="daily")

    assert (report.sent, report.retrying) == (7, 1)
    refused = Delivery.objects.get(status="pending")
    assert refused.attempts == 1
    assert "451" in refused.error
    assert refused.next_attempt_at > MONDAY_MORNING + dt.timedelta(seconds=290)

    digests_send_due(frequency="daily")  # a re-run: the retry is not due yet
    deliveries_send_retries()
    assert len(smtp.messages) == 7

    monday.shift(dt.timedelta(minutes=11))
    deliveries_send_retries()

    assert smtp.count_by_recipient() == {r.email: 1 for r in readers}
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
    assert Delivery.objects.get(pk=refused.pk).attempts == 2


def test_a_permanent_refusal_fails_at_once_with_the_servers_answer(smtp, monday, papers):
    SubscriptionFactory()
    smtp.refuse_rcpt(1, "550 5.1.1 No such mailbox")

    report = digests_send_due(frequency="daily")

    assert report.failed == 1
    delivery = Delivery.objects.get()
    assert delivery.status == "failed"
    assert "550 5.1.1 No such mailbox" in delivery.error


def test_temporary_failures_stop_after_the_last_attempt(smtp, monday, papers, settings):
    settings.DIGEST_MAX_ATTEMPTS = 3
    settings.DIGEST_RETRY_BACKOFF_SECONDS = 0
    SubscriptionFactory()
    for n in (1, 2, 3):
        smtp.refusals[n] = "452 4.2.2 Mailbox full"

    digests_send_due(frequency="daily")
    deliveries_send_retries()
    deliveries_send_retries()
    deliveries_send_retries()

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert delivery.error.startswith("attempt 3: refused: 452")
    assert smtp.messages == []


def test_the_mail_server_down_leaves_every_digest_for_later(settings, monday, papers, smtp):
    settings.DIGEST_RETRY_BACKOFF_SECONDS = 0
    readers = subscribers(4)
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 9  # nothing listens there

    report = digests_send_due(frequency="daily")

    assert report.retrying == 4
    settings.EMAIL_PORT = port
    deliveries_send_retries()
    assert smtp.count_by_recipient() == {r.email: 1 for r in readers}


class ProcessDied(BaseException):
    """Stands for the worker being killed: nothing in the sending code catches it."""


def test_a_crash_between_smtp_and_status_never_duplicates_and_loses_only_that_one(
    smtp, monday, papers, settings
):
    settings.DIGEST_STALE_AFTER_MINUTES = 30
    readers = subscribers(7)
    main = threading.main_thread().ident

    def crash(signum, frame):
        raise ProcessDied

    previous = signal.signal(signal.SIGUSR1, crash)

    def die_after_fourth(number: int) -> None:
        if number == 4:  # the server has the 4th message; the sender dies before it hears so
            smtp.on_data = None
            signal.pthread_kill(main, signal.SIGUSR1)

    smtp.on_data = die_after_fourth
    try:
        with pytest.raises(ProcessDied):
            digests_send_due(frequency="daily")
    finally:
        signal.signal(signal.SIGUSR1, previous)

    assert len(smtp.messages) == 4
    statuses = dict(Delivery.objects.values_list("subscription__email", "status"))
    fourth = smtp.messages[3]["To"]
    assert statuses[fourth] == "sending"
    assert sorted(statuses.values()).count("pending") == 3

    digests_send_due(frequency="daily")  # the next run sends the rest, not the 4th again
    assert smtp.count_by_recipient() == {r.email: 1 for r in readers}

    monday.shift(dt.timedelta(minutes=31))
    deliveries_send_retries()
    interrupted = Delivery.objects.get(subscription__email=fourth)
    assert interrupted.status == "failed"
    assert interrupted.error == INTERRUPTED
    assert smtp.count_by_recipient() == {r.email: 1 for r in readers}


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_never_send_a_second_copy(smtp, monday, papers, settings):
    """The claim is a compare-and-set: a second process finds every row taken."""
    readers = subscribers(5)
    delivered_during_first: list[int] = []

    def second_run_during_the_first(number: int) -> None:
        if number == 2:
            smtp.on_data = None
            delivered_during_first.append(digests_send_due(frequency="daily").sent)

    smtp.on_data = second_run_during_the_first
    digests_send_due(frequency="daily")

    assert smtp.count_by_recipient() == {r.email: 1 for r in readers}


@pytest.mark.django_db(transaction=True)
def test_an_unsubscribe_during_the_run_stops_the_pending_digest(smtp, monday, papers):
    first, second = subscribers(2)

    def leave(number: int) -> None:
        subscription_unsubscribe(subscription=Subscription.objects.get(pk=second.pk))

    smtp.on_data = leave
    digests_send_due(frequency="daily")

    assert smtp.count_by_recipient() == {first.email: 1}
    assert Delivery.objects.get(subscription=second).status == "skipped"


def test_weekly_digest_covers_the_previous_iso_week(smtp, time_machine):
    time_machine.move_to(dt.datetime(2026, 6, 15, 7, tzinfo=dt.UTC), tick=False)
    reader = SubscriptionFactory(frequency="weekly")
    SubscriptionFactory(frequency="daily")
    PaperFactory(title="Monday of week 24", listed_on=dt.date(2026, 6, 8), source_upvotes=3)
    PaperFactory(title="Sunday of week 24", listed_on=dt.date(2026, 6, 14), source_upvotes=9)
    PaperFactory(title="Sunday of week 23", listed_on=dt.date(2026, 6, 7), source_upvotes=90)

    report = digests_send_due(frequency="weekly")

    assert report.period == "2026-W24"
    [message] = smtp.messages
    assert message["To"] == reader.email
    assert subject(message) == "Daily Papers · Week 24 (Jun 8\N{EN DASH}14) · Sunday of week 24"
    assert "Monday of week 24" in text_part(message)
    assert "week 23" not in text_part(message)


def test_explicit_periods_can_be_sent_again_later_without_duplicates(smtp, monday, papers):
    reader = SubscriptionFactory(frequency="weekly")

    digests_send_due(frequency="weekly", period=weekly_period(FRIDAY))
    digests_send_due(frequency="weekly", period=weekly_period(dt.date(2026, 6, 8)))

    assert smtp.count_by_recipient() == {reader.email: 1}
    assert Delivery.objects.get().period == "2026-W24"


def test_the_period_papers_are_queried_once_not_per_subscriber(smtp, monday, papers, settings):
    settings.DIGEST_BATCH_SIZE = 100
    subscribers(6)
    subscribers(6, keywords=["agents"])

    with CaptureQueriesContext(connection) as captured:
        digests_send_due(frequency="daily", period=daily_period(FRIDAY))

    statements = [
        q["sql"]
        for q in captured.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    assert sum('FROM "papers_paper"' in sql for sql in statements) == 1
    # papers, their verified authors, plan, insert, 2 batch reads; then one statement per
    # digest (its claim and the previous one's "sent"), and the last "sent"
    assert len(statements) == 6 + 12 + 1


def test_a_digest_filled_in_bytewise_equals_one_built_normally(monday, papers):
    from email import message_from_bytes, policy

    from digests.mail import DigestRenderer
    from digests.selectors import digest_papers

    period = daily_period(FRIDAY)
    renderer = DigestRenderer(period, digest_papers(period), top_n=3)
    reader = SubscriptionFactory(email="o'brien+digest@example.org", keywords=["agents"])

    outgoing = renderer.message(reader)

    assert outgoing.raw is not None
    fast = message_from_bytes(outgoing.raw, policy=policy.default)
    slow = message_from_bytes(
        outgoing.build().message().as_bytes(linesep="\r\n"), policy=policy.default
    )
    for name in ("To", "From", "Subject", "Message-ID", "Date", "List-Unsubscribe", "List-Id"):
        assert str(fast[name]).strip() == str(slow[name]).strip()
    assert str(fast["To"]) == reader.email
    assert text_part(fast) == text_part(slow)
    assert html_part(fast) == html_part(slow)
    assert reader.token in text_part(fast)
    assert "o&#x27;brien+digest@example.org" in html_part(fast)


def test_messages_that_cannot_be_filled_in_bytewise_are_built_normally(smtp, monday):
    # A title too long for one line makes the HTML part quoted-printable.
    PaperFactory(listed_on=FRIDAY, title="A very long title " * 60)
    readers = [SubscriptionFactory(email="reader@exämple.org"), SubscriptionFactory()]

    digests_send_due(frequency="daily")

    assert len(smtp.messages) == 2
    for reader in readers:
        [message] = [m for m in smtp.messages if reader.token in text_part(m)]
        assert reader.token in html_part(message)
        assert "A very long title" in html_part(message)
    assert {to for _, [to] in smtp.envelopes} == {"reader@xn--exmple-cua.org", readers[1].email}


def test_each_subscriber_sees_their_own_topics_even_when_the_papers_are_the_same(
    smtp, monday, papers
):
    one = SubscriptionFactory(keywords=["Robotics"])
    two = SubscriptionFactory(keywords=["manipulation", "<b>grasp</b>"])

    digests_send_due(frequency="daily")

    [first], [second] = smtp.to(one.email), smtp.to(two.email)
    assert subject(first) == subject(second)  # the same single paper matched
    assert "about robotics, by upvotes" in text_part(first)
    assert "about <b>grasp</b>, manipulation, by upvotes" in text_part(second)
    assert "about &lt;b&gt;grasp&lt;/b&gt;, manipulation</h1>" in html_part(second)


@pytest.mark.django_db(transaction=True)
def test_batches_sent_side_by_side_still_send_one_mail_each(smtp, monday, papers, settings):
    """On PostgreSQL the batches go out on DIGEST_SEND_CONCURRENCY threads at once."""
    settings.DIGEST_SEND_CONCURRENCY = 3
    readers = subscribers(20)

    report = digests_send_due(frequency="daily")

    assert (report.planned, report.sent) == (20, 20)
    assert smtp.count_by_recipient() == {r.email: 1 for r in readers}
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}


def test_a_digest_left_unsent_by_a_long_outage_is_skipped_not_sent_late(smtp, time_machine):
    from digests.services import sending as digest_services

    reader = SubscriptionFactory()
    PaperFactory(listed_on=dt.date(2026, 6, 12))
    Delivery.objects.create(
        subscription=reader,
        frequency="daily",
        period="2026-06-12",
        status="pending",
        next_attempt_at=dt.datetime(2026, 6, 13, 7, tzinfo=dt.UTC),
    )
    # Friday's digest (Friday to Sunday) is due on Monday the 15th; the site is back on
    # Thursday the 18th, more than DIGEST_LATE_AFTER_DAYS (2) later.
    time_machine.move_to(dt.datetime(2026, 6, 18, 8, tzinfo=dt.UTC), tick=False)

    [report] = digest_services.deliveries_send_retries()

    delivery = Delivery.objects.get()
    assert smtp.messages == []
    assert (report.skipped, delivery.status) == (1, "skipped")
    assert delivery.error.startswith("too late")


def test_a_digest_a_day_late_still_goes_out(smtp, time_machine):
    from digests.services import sending as digest_services

    reader = SubscriptionFactory()
    PaperFactory(listed_on=dt.date(2026, 6, 12))
    Delivery.objects.create(
        subscription=reader,
        frequency="daily",
        period="2026-06-12",
        status="pending",
        next_attempt_at=dt.datetime(2026, 6, 13, 7, tzinfo=dt.UTC),
    )
    time_machine.move_to(dt.datetime(2026, 6, 16, 8, tzinfo=dt.UTC), tick=False)  # a day late

    digest_services.deliveries_send_retries()

    assert [m["To"] for m in smtp.messages] == [reader.email]


def test_categories_select_papers_filed_in_or_cross_listed_to_them(smtp, monday):
    PaperFactory(
        title="Learning rates that learn",
        listed_on=FRIDAY,
        source_upvotes=9,
        categories=["cs.LG", "stat.ML"],
    )
    PaperFactory(title="Parsing with pictures", listed_on=FRIDAY, categories=["cs.CL"])
    PaperFactory(title="Kernels for everyone", listed_on=FRIDAY, categories=["stat.ML"])
    statistics = SubscriptionFactory(categories=["stat.ML"])
    language = SubscriptionFactory(categories=["cs.CL"], keywords=["pictures"])
    physics = SubscriptionFactory(categories=["hep-th"])
    everyone = SubscriptionFactory()

    report = digests_send_due(frequency="daily")

    [mail] = smtp.to(statistics.email)
    assert "Learning rates that learn" in text_part(mail)
    assert "Kernels for everyone" in text_part(mail)
    assert "Parsing with pictures" not in text_part(mail)
    assert "about stat.ML" in text_part(mail)
    [mail] = smtp.to(language.email)
    assert "Parsing with pictures" in text_part(mail)
    assert "Kernels for everyone" not in text_part(mail)
    assert smtp.to(physics.email) == []
    assert "Parsing with pictures" in text_part(smtp.to(everyone.email)[0])
    assert report.skipped == 1
