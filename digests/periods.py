"""Which papers a digest covers, and when it is due.

Daily: the digest sent on a weekday D covers the papers listed from the weekday before D up
to the day before D; on Tuesday that is Monday's listing, on Monday it is Friday's together
with anything listed over the weekend. No daily digest goes out on Saturday or Sunday. Its
key is the first day, the listing day it is named after ("Fri Jun 12").

Weekly: the digest sent on Monday covers the previous ISO week, Monday to Sunday; its key is
the ISO week ("2026-W24"). Days are UTC dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from digests.models import Frequency
from papers.periods import parse_period, period_of

SATURDAY = 5


@dataclass(frozen=True, slots=True)
class DigestPeriod:
    frequency: str
    first: date
    last: date

    @property
    def key(self) -> str:
        kind = "week" if self.frequency == Frequency.WEEKLY else "date"
        return period_of(kind, self.first).slug

    @property
    def label(self) -> str:
        """`Fri Jun 12` or `Week 24 (Jun 8 to 14)`."""
        if self.frequency == Frequency.WEEKLY:
            week = self.first.isocalendar()[1]
            end = f"{self.last:%b} {self.last.day}" if self.last.month != self.first.month else ""
            return (
                f"Week {week} ({self.first:%b} {self.first.day}\N{EN DASH}{end or self.last.day})"
            )
        return f"{self.first:%a %b} {self.first.day}"


def is_weekday(day: date) -> bool:
    return day.weekday() < SATURDAY


def previous_weekday(day: date) -> date:
    """The last Monday-to-Friday day before `day`."""
    day -= timedelta(days=1)
    while not is_weekday(day):
        day -= timedelta(days=1)
    return day


def daily_period(listing_day: date) -> DigestPeriod:
    """The daily digest named after a weekday's listing (Friday's includes the weekend)."""
    if not is_weekday(listing_day):
        raise ValueError(f"{listing_day} is a {listing_day:%A}: daily digests cover weekdays")
    last = listing_day
    while not is_weekday(last + timedelta(days=1)):
        last += timedelta(days=1)
    return DigestPeriod(Frequency.DAILY, listing_day, last)


def weekly_period(day: date) -> DigestPeriod:
    """The weekly digest of the ISO week that contains `day`."""
    monday = day - timedelta(days=day.weekday())
    return DigestPeriod(Frequency.WEEKLY, monday, monday + timedelta(days=6))


def due_period(frequency: str, today: date) -> DigestPeriod | None:
    """The period whose digest goes out on `today`; None for a daily digest at the weekend."""
    if frequency == Frequency.WEEKLY:
        return weekly_period(today - timedelta(days=7))
    if not is_weekday(today):
        return None
    return daily_period(previous_weekday(today))


def digest_period(frequency: str, key: str) -> DigestPeriod:
    """The period a digest key names: `2026-06-12` (daily, a weekday) or `2026-W24` (weekly,
    written as feed periods are); ValueError otherwise."""
    key = key.strip()
    if frequency == Frequency.WEEKLY:
        return weekly_period(parse_period("week", key).first)
    if frequency == Frequency.DAILY:
        return daily_period(parse_period("date", key).first)
    raise ValueError(f"{frequency!r} is not a frequency (daily or weekly)")
