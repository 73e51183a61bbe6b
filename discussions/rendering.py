"""A comment's Markdown as safe HTML.

A safe subset of CommonMark (paragraphs, links, emphasis, code, lists, quotes) is rendered
by markdown-it-py with raw HTML off, then sanitised by nh3 (ammonia) with an allow-list:
whatever a comment holds, only those tags and `href`s to http, https and mailto survive,
and every link is `rel="nofollow ugc noopener"`. `$...$` becomes MathML through the
converter paper titles use (papers.rendering), which admits presentation MathML only; it
is put in after sanitising, in the place of a marker a comment cannot write. `@handle`
becomes a link to that member's page when such a member exists.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection, Sequence
from typing import Any

import nh3
from django.urls import reverse
from django.utils.html import escape
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin

from papers.rendering import latex_to_mathml

MENTION = re.compile(r"(?<![\w@./-])@([A-Za-z0-9](?:[\w.+-]{0,148}[\w])?)")
TAGS = {"p", "br", "a", "em", "strong", "code", "pre", "ul", "ol", "li", "blockquote", "hr"}
LINK_REL = "nofollow ugc noopener"
_NONCE = secrets.token_hex(8)  # a comment cannot write the marker: it does not know it
_MATH_MARK = re.compile(f"mathmark{_NONCE}n(\\d+)x")


def mentioned_handles(body: str) -> set[str]:
    """The handles a body mentions (whether or not such members exist)."""
    return {match.group(1) for match in MENTION.finditer(body)}


def _mentions(state: StateCore) -> None:
    """A core rule turning `@handle` in plain text (not in code or links) into links to
    the members named in `env["handles"]`."""
    handles: Collection[str] = state.env.get("handles", ())
    if not handles:
        return
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        in_link = 0
        for token in block.children:
            if token.type == "link_open":
                in_link += 1
            elif token.type == "link_close":
                in_link -= 1
            if token.type != "text" or in_link or "@" not in token.content:
                children.append(token)
                continue
            children.extend(_split_mentions(token.content, handles))
        block.children = children


def _split_mentions(text: str, handles: Collection[str]) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    for match in MENTION.finditer(text):
        handle = match.group(1)
        if handle not in handles:
            continue
        if match.start() > position:
            tokens.append(_text(text[position : match.start()]))
        link = Token("link_open", "a", 1)
        link.attrs = {"href": reverse("people:member", args=[handle]), "class": "mention"}
        tokens += [link, _text(match.group(0)), Token("link_close", "a", -1)]
        position = match.end()
    if position < len(text):
        tokens.append(_text(text[position:]))
    return tokens


def _text(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


def _math(
    renderer: object, tokens: Sequence[Token], idx: int, options: object, env: dict[str, Any]
) -> str:
    """A formula's marker (its MathML goes in after sanitising); the formula is kept."""
    formulas: list[str] = env["formulas"]
    formulas.append(tokens[idx].content.strip())
    return f"mathmark{_NONCE}n{len(formulas) - 1}x"


# Built once: what differs between comments (the members to link, the formulas found)
# travels in each render's `env`.
_MARKDOWN = (
    MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    .disable(["heading", "lheading", "image", "html_block", "html_inline"])
    .use(dollarmath_plugin, allow_space=False, allow_digits=False)
)
for _kind in ("math_inline", "math_inline_double", "math_block", "math_block_label"):
    _MARKDOWN.add_render_rule(_kind, _math)
_MARKDOWN.core.ruler.push("mentions", _mentions)


def render_markdown(body: str, *, handles: Collection[str] = ()) -> str:
    """The comment as sanitised HTML; `handles` are the members its mentions may link."""
    env: dict[str, Any] = {"handles": set(handles), "formulas": []}
    html = nh3.clean(
        _MARKDOWN.render(body, env),
        tags=TAGS,
        attributes={"a": {"href"}},
        allowed_classes={"a": {"mention"}},
        link_rel=LINK_REL,
        url_schemes={"http", "https", "mailto"},
        url_relative="pass_through",
    )

    formulas: list[str] = env["formulas"]

    def formula(match: re.Match[str]) -> str:
        index = int(match.group(1))
        if index >= len(formulas):
            return match.group(0)
        latex = formulas[index]
        mathml = latex_to_mathml(latex)
        return mathml if mathml is not None else escape(f"${latex}$")

    return _MATH_MARK.sub(formula, html).strip()
