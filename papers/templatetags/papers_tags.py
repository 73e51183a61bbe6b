from __future__ import annotations

from datetime import date, datetime

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from papers import categories
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


@register.filter
def category_name(code: str) -> str:
    """An arXiv category's name ("Machine Learning" for cs.LG), or the code."""
    return categories.category_name(code)


@register.filter
def category_link(code: str, css_class: str = "") -> SafeString:
    """A link to a category's page, titled with its name; a code that is not one arXiv has
    is shown as text."""
    if categories.clean_category(code) in ("", None):
        return format_html("<span>{}</span>", code)
    url = reverse("papers:category", args=[code])
    name = categories.category_name(code)
    if css_class:
        return format_html('<a class="{}" href="{}" title="{}">{}</a>', css_class, url, name, code)
    return format_html('<a href="{}" title="{}">{}</a>', url, name, code)
