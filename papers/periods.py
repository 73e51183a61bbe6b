"""Feed periods: a day, an ISO week or a month, parsed from and written to URL form."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

# How each kind is written (in URLs, the API's parameters and digest keys): the one place.
FORMATS = {"date": "YYYY-MM-DD", "week": "YYYY-Www, like 2026-W24", "month": "YYYY-MM"}
_PATTERNS = {
    "date": re.compile(r"(\d{4})-(\d{2})-(\d{2})"),
    "week": re.compile(r"(\d{4})-W(\d{2})"),
    "month": re.compile(r"(\d{4})-(\d{2})"),
}


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
    """Parse `2026-06-12`, `2026-W24` or `2026-06`; ValueError, saying why, for anything
    impossible or outside the years FIRST_YEAR to LAST_YEAR."""
    pattern = _PATTERNS.get(kind)
    if pattern is None:
        raise ValueError(f"{kind!r} is not a kind of period (date, week or month)")
    match = pattern.fullmatch(text)
    if match is None:
        raise ValueError(f"Use {FORMATS[kind]}.")
    year, number = int(match[1]), int(match[2])
    try:
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise ValueError(year)
        if kind == "week":
            first = date.fromisocalendar(year, number, 1)
        elif kind == "month":
            first = date(year, number, 1)
        else:
            first = date(year, number, int(match[3]))
    except ValueError:
        raise ValueError(f"{text} is not a valid {kind}.") from None
    return period_of(kind, first)
