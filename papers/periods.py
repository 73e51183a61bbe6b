"""Feed periods: a day, an ISO week or a month, parsed from and written to URL form."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class Period:
    kind: str  # "date", "week" or "month"
    first: date
    last: date

    @property
    def slug(self) -> str:
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == "month":
            return f"{self.first:%Y-%m}"
        return self.first.isoformat()

    @property
    def label(self) -> str:
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"Week {week}, {year}"
        if self.kind == "month":
            return f"{self.first:%B %Y}"
        return f"{self.first:%A, %B} {self.first.day}, {self.first.year}"

    @property
    def days(self) -> list[date]:
        """Every day of the period, in order."""
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def containing(self, kind: str) -> Period:
        """The period of another kind that contains this period's first day."""
        return period_of(kind, self.first)


def period_of(kind: str, day: date) -> Period:
    """The day, ISO week or month that contains `day`."""
    if kind == "week":
        monday = day - timedelta(days=day.weekday())
        return Period("week", monday, monday + timedelta(days=6))
    if kind == "month":
        last = calendar.monthrange(day.year, day.month)[1]
        return Period("month", day.replace(day=1), day.replace(day=last))
    return Period("date", day, day)


# Years a period may fall in: the weeks and months around 9999-12-31 would end past the
# last date Python can hold.
FIRST_YEAR, LAST_YEAR = 1000, 9998


def parse_period(kind: str, text: str) -> Period:
    """Parse `2026-06-12`, `2026-W24` or `2026-06`; ValueError for anything impossible,
    or outside the years FIRST_YEAR to LAST_YEAR."""
    if not FIRST_YEAR <= int(text[:4] if text[:4].isdigit() else 0) <= LAST_YEAR:
        raise ValueError(f"{text!r} is not a valid {kind}")
    if kind == "date" and _DATE_RE.match(text):
        return period_of("date", date.fromisoformat(text))
    if kind == "week" and (match := _WEEK_RE.match(text)):
        monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
        return period_of("week", monday)
    if kind == "month" and (match := _MONTH_RE.match(text)):
        return period_of("month", date(int(match[1]), int(match[2]), 1))
    raise ValueError(f"{text!r} is not a valid {kind}")
