"""When digests are due and which days they cover: weekends, ISO weeks, time zones."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from digests.periods import daily_period, digest_period, due_period, weekly_period
from digests.services.sending import digests_send_due
from tests.digests.factories import SubscriptionFactory
from tests.factories import PaperFactory

D = dt.date


@pytest.mark.parametrize(
    ("today", "first", "last"),
    [
        (D(2026, 6, 16), D(2026, 6, 15), D(2026, 6, 15)),  # Tuesday: Monday's listing
        (D(2026, 6, 19), D(2026, 6, 18), D(2026, 6, 18)),  # Friday: Thursday's
        (D(2026, 6, 15), D(2026, 6, 12), D(2026, 6, 14)),  # Monday: Friday's and the weekend
    ],
)
def test_a_daily_digest_covers_the_previous_weekday_and_any_weekend_after_it(today, first, last):
    period = due_period("daily", today)

    assert (period.first, period.last) == (first, last)
    assert period.key == first.isoformat()


@pytest.mark.parametrize("today", [D(2026, 6, 13), D(2026, 6, 14)])
def test_no_daily_digest_is_due_at_the_weekend(today):
    assert due_period("daily", today) is None


def test_the_daily_label_names_the_listing_day():
    assert daily_period(D(2026, 6, 12)).label == "Fri Jun 12"
    with pytest.raises(ValueError, match="is a Saturday"):
        daily_period(D(2026, 6, 13))


@pytest.mark.parametrize(
    ("today", "key", "first", "last"),
    [
        (D(2026, 6, 15), "2026-W24", D(2026, 6, 8), D(2026, 6, 14)),
        (D(2026, 6, 17), "2026-W24", D(2026, 6, 8), D(2026, 6, 14)),
        (D(2027, 1, 4), "2026-W53", D(2026, 12, 28), D(2027, 1, 3)),  # 2026 has 53 ISO weeks
        (D(2026, 1, 5), "2026-W01", D(2025, 12, 29), D(2026, 1, 4)),  # week 1 starts in 2025
    ],
)
def test_a_weekly_digest_covers_the_previous_iso_week(today, key, first, last):
    period = due_period("weekly", today)

    assert (period.key, period.first, period.last) == (key, first, last)
    assert digest_period("weekly", key) == period


def test_weekly_labels_across_months():
    assert weekly_period(D(2026, 6, 10)).label == "Week 24 (Jun 8\N{EN DASH}14)"
    assert weekly_period(D(2026, 12, 30)).label == "Week 53 (Dec 28\N{EN DASH}Jan 3)"


@pytest.mark.parametrize(
    ("frequency", "text", "message"),
    [
        ("daily", "2026-06-13", "is a Saturday"),
        ("daily", "yesterday", "Use YYYY-MM-DD"),
        ("weekly", "2026-06-15", "Use YYYY-Www"),
        ("weekly", "2026-W54", "week"),
        ("hourly", "2026-06-15", "not a frequency"),
    ],
)
def test_bad_periods_are_refused(frequency, text, message):
    with pytest.raises(ValueError, match=message):
        digest_period(frequency, text)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("local", "due"),
    [
        # Sunday evening in New York is Monday 01:00 UTC: Monday's digest (Friday's papers).
        (dt.datetime(2026, 6, 14, 21, 0, tzinfo=ZoneInfo("America/New_York")), "2026-06-12"),
        # Saturday 08:30 in Tokyo is still Friday 23:30 UTC: Friday's digest (Thursday's).
        (dt.datetime(2026, 6, 13, 8, 30, tzinfo=ZoneInfo("Asia/Tokyo")), "2026-06-11"),
        # Monday 01:30 in Berlin is Sunday 23:30 UTC: no daily digest.
        (dt.datetime(2026, 6, 15, 1, 30, tzinfo=ZoneInfo("Europe/Berlin")), None),
    ],
)
def test_the_day_is_the_utc_day_whatever_the_local_clock(time_machine, local, due):
    time_machine.move_to(local, tick=False)
    SubscriptionFactory(confirmed_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    PaperFactory(listed_on=D(2026, 6, 11))
    PaperFactory(listed_on=D(2026, 6, 12))

    report = digests_send_due(frequency="daily", dry_run=True)

    assert (report.period if report else None) == due


@pytest.mark.django_db
def test_send_digests_command_dry_run_sends_nothing(time_machine, mailoutbox):
    time_machine.move_to(dt.datetime(2026, 6, 15, 7, tzinfo=dt.UTC), tick=False)
    SubscriptionFactory()
    SubscriptionFactory(keywords=["quantum chromodynamics"])
    PaperFactory(listed_on=D(2026, 6, 12))
    out = StringIO()

    call_command("send_digests", "--frequency", "daily", "--dry-run", stdout=out)

    assert out.getvalue().strip() == (
        "daily 2026-06-12: 1 papers; dry run: would send 1, skip 1 (no matching paper), "
        "2 not yet handled"
    )
    assert mailoutbox == []


@pytest.mark.django_db
def test_send_digests_command_sends_a_given_period_once(time_machine, mailoutbox):
    time_machine.move_to(dt.datetime(2026, 6, 20, 9, tzinfo=dt.UTC), tick=False)  # Saturday
    SubscriptionFactory(email="weekly@example.org", frequency="weekly")
    PaperFactory(listed_on=D(2026, 6, 10))
    out = StringIO()

    call_command("send_digests", "--frequency", "daily", stdout=out)
    call_command("send_digests", "--frequency", "weekly", "--period", "2026-W24", stdout=out)
    call_command("send_digests", "--frequency", "weekly", "--period", "2026-W24", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0] == "No daily digest is due on a Saturday or Sunday."
    assert "sent 1," in lines[1]
    assert "sent 0," in lines[2]
    assert [m.to for m in mailoutbox] == [["weekly@example.org"]]


@pytest.mark.django_db
def test_send_digests_command_refuses_a_bad_period():
    with pytest.raises(CommandError, match="is a Sunday"):
        call_command("send_digests", "--frequency", "daily", "--period", "2026-06-14")
