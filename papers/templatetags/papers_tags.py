from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils.safestring import SafeString

from papers.rendering import highlight_html, math_html

register = template.Library()


@register.filter
def mathtext(text: str) -> SafeString:
    """Escaped text with `$...$` rendered as MathML."""
    return math_html(text or "")


@register.filter
def highlight(text: str, terms: list[str]) -> SafeString:
    """Escaped text with the search terms marked."""
    return highlight_html(text or "", terms or [])


@register.filter
def short_date(value: date | datetime | None) -> str:
    """`Jun 12` this year, `Jun 28, 2021` otherwise (as huggingface.co/papers shows)."""
    if value is None:
        return ""
    day = value.date() if isinstance(value, datetime) else value
    today = date.today()  # noqa: DTZ011 - only the year matters
    text = f"{day:%b} {day.day}"
    return text if day.year == today.year else f"{text}, {day.year}"


@register.filter
def github_name(url: str) -> str:
    """`owner/repo` from a GitHub URL."""
    return url.removeprefix("https://").removeprefix("http://").removeprefix("github.com/")
