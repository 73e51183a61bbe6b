"""Comment Markdown: the safe subset, math, mentions; anything else inert."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from discussions.rendering import mentioned_handles, render_markdown


def test_the_safe_subset_is_rendered():
    html = render_markdown(
        "Some *emphasis*, **strong**, `code` and [a link](https://example.org).\n\n"
        "- one\n- two\n\n1. first\n\n> quoted\n\n```\nblock <b>\n```"
    )
    assert "<em>emphasis</em>" in html
    assert "<strong>strong</strong>" in html
    assert "<code>code</code>" in html
    assert '<a href="https://example.org" rel="nofollow ugc noopener">a link</a>' in html
    assert "<ul>" in html
    assert "<ol>" in html
    assert "<blockquote>" in html
    assert "<pre><code>block &lt;b&gt;\n</code></pre>" in html


class Markup(HTMLParser):
    """The elements and attributes a piece of HTML really has."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


ALLOWED = {"p", "br", "a", "em", "strong", "code", "pre", "ul", "ol", "li", "blockquote", "hr"}
MATHML = {"math", "mrow", "mi", "mn", "mo", "msub", "msup", "mtext", "mfrac", "msqrt", "mspace"}


@pytest.mark.parametrize(
    "body",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](&#x6A;avascript:alert(1))",
        "[click](java\\nscript:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "<javascript:alert(1)>",
        "![pic](https://example.org/a.png)",
        "# Big heading",
        '<a href="https://e.org" onclick="alert(1)">x</a>',
        "$\\href{javascript:alert(1)}{x}$",
        "$<script>alert(1)</script>$",
        "$\\style{color:red}{x}$ $\\mathrm{<img src=x onerror=alert(1)>}$",
        '<svg onload="alert(1)">',
        "&lt;script&gt;alert(1)&lt;/script&gt;",
    ],
)
def test_hostile_markup_is_inert(body):
    for tag, attrs in Markup(render_markdown(body)).tags:
        assert tag in ALLOWED | MATHML, tag
        assert not any(name.startswith("on") or name == "style" for name in attrs), attrs
        href = attrs.get("href")
        if href is not None:
            assert urlsplit(href).scheme in {"", "http", "https", "mailto"}, href


def test_raw_html_is_shown_as_text():
    assert (
        render_markdown("<b>bold?</b> &amp; more") == "<p>&lt;b&gt;bold?&lt;/b&gt; &amp; more</p>"
    )


def test_math_becomes_mathml_and_dollars_stay_text():
    html = render_markdown("Loss $\\alpha_1 + x^2$ costs $5 and $10.")
    assert "<math" in html
    assert "<msub>" in html
    assert "$5 and $10" in html


def test_a_comment_cannot_write_the_math_marker():
    html = render_markdown("mathmark0000000000000000n0x and $x$")
    assert html.startswith("<p>mathmark0000000000000000n0x")


def test_mentions_link_existing_members_only_and_not_in_code_or_links():
    html = render_markdown(
        "Thanks @alice and @nobody; `@alice` [@alice](https://e.org) mail@alice.org",
        handles={"alice"},
    )
    assert html.count('class="mention"') == 1
    assert (
        '<a href="/u/alice" class="mention"' in html or '<a class="mention" href="/u/alice"' in html
    )
    assert "@nobody" in html
    assert mentioned_handles("hi @alice, @bob. not-an@email x@y") == {"alice", "bob"}
