"""Turning source text into safe HTML: inline math as MathML, search highlights."""

from __future__ import annotations

import re
from functools import lru_cache
from xml.etree.ElementTree import Element, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from latex2mathml.converter import convert

from papers.terms import segments, terms_pattern

MATHML = "{http://www.w3.org/1998/Math/MathML}"
# Presentation MathML that latex2mathml produces; anything else means "fall back to text".
ALLOWED_TAGS = frozenset(
    {
        "math",
        "mrow",
        "mi",
        "mn",
        "mo",
        "ms",
        "mtext",
        "mspace",
        "msub",
        "msup",
        "msubsup",
        "mfrac",
        "msqrt",
        "mroot",
        "mover",
        "munder",
        "munderover",
        "mtable",
        "mtr",
        "mtd",
        "mstyle",
        "mpadded",
        "mphantom",
        "menclose",
        "mfenced",
        "merror",
        "semantics",
        "annotation",
    }
)
ALLOWED_ATTRIBUTES = frozenset(
    {
        "display",
        "xmlns",
        "mathvariant",
        "stretchy",
        "fence",
        "separator",
        "lspace",
        "rspace",
        "accent",
        "accentunder",
        "linethickness",
        "columnalign",
        "rowspacing",
        "columnspacing",
        "displaystyle",
        "scriptlevel",
        "width",
        "height",
        "depth",
        "notation",
        "minsize",
        "maxsize",
        "movablelimits",
        "form",
        "largeop",
        "symmetric",
        "open",
        "close",
        "separators",
        "encoding",
    }
)
# Pandoc's rule: no space just inside the dollars, no digit right after the closing one,
# so "costs $5 and $10" stays text.
_MATH_RE = re.compile(r"(?<![\\$])\$(?=[^\s$])([^$]{1,500}?)(?<=[^\s\\])\$(?!\d)")


def _clean(element: Element) -> bool:
    """True if every element is allowed MathML with allowed attributes."""
    for node in element.iter():
        if not node.tag.startswith(MATHML) or node.tag[len(MATHML) :] not in ALLOWED_TAGS:
            return False
        if any(name not in ALLOWED_ATTRIBUTES for name in node.attrib):
            return False
    return True


@lru_cache(maxsize=4096)
def latex_to_mathml(latex: str) -> str | None:
    """MathML for one formula, or None when it cannot be converted safely."""
    try:
        tree = fromstring(convert(latex), forbid_dtd=True)
    except (DefusedXmlException, ParseError):
        return None
    except Exception:  # latex2mathml raises many kinds of errors on bad input
        return None
    if not _clean(tree):
        return None
    for node in tree.iter():
        node.tag = node.tag[len(MATHML) :]
    tree.set("xmlns", MATHML[1:-1])
    return tostring(tree, encoding="unicode")


@lru_cache(maxsize=4096)
def math_html(text: str) -> SafeString:
    """Escape `text`, rendering each `$...$` as MathML (or as the escaped original)."""
    if "$" not in text:
        return mark_safe(escape(text))
    parts: list[str] = []
    position = 0
    for match in _MATH_RE.finditer(text):
        parts.append(escape(text[position : match.start()]))
        mathml = latex_to_mathml(match.group(1))
        parts.append(mathml if mathml is not None else escape(match.group(0)))
        position = match.end()
    parts.append(escape(text[position:]))
    return mark_safe("".join(parts))


def highlight_html(text: str, terms: list[str]) -> SafeString:
    """Escaped text with the terms' matches (papers/terms.py) wrapped in <mark>."""
    return mark_safe(
        "".join(
            f"<mark>{escape(piece)}</mark>" if hit else escape(piece)
            for piece, hit in segments(text, terms_pattern(terms))
        )
    )
