"""Papers as BibTeX and CSL-JSON (what Zotero, JabRef and LaTeX import), from the arXiv
metadata: `@misc` with `eprint`, `archivePrefix`, `primaryClass` and `url`, as arXiv's own
export writes them.

BibTeX: the LaTeX specials (`& % $ # _ { } ~ ^ \\`) in titles and names are escaped, except
inside `$...$` math, which arXiv titles use and LaTeX reads as math; names and titles stay
UTF-8 (biber, Zotero and JabRef read it). Keys are first author's surname, year and first
word of the title, in ASCII, made unique within a file.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from django.http import HttpResponse

from papers.models import Paper

_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_SPECIAL_RE = re.compile(r"[\\&%$#_{}~^]")
# Math as papers/rendering.py finds it: no space just inside the dollars.
_MATH_RE = re.compile(r"(?<![\\$])\$(?=[^\s$])([^$]{1,500}?)(?<=[^\s\\])\$(?!\d)")


def latex_escape(text: str, *, keep_math: bool = False) -> str:
    """Text with LaTeX's specials escaped (and `$...$` math kept as math if asked)."""
    text = " ".join(text.split())

    def plain(part: str) -> str:
        return _SPECIAL_RE.sub(lambda m: _SPECIALS[m.group(0)], part)

    if not keep_math:
        return plain(text)
    out, position = [], 0
    for match in _MATH_RE.finditer(text):
        if match.group(1).count("{") != match.group(1).count("}"):
            continue  # unbalanced braces would break the entry: leave it as text
        out += [plain(text[position : match.start()]), match.group(0)]
        position = match.end()
    out.append(plain(text[position:]))
    return "".join(out)


# Letters that do not decompose into an ASCII letter and a mark.
_LETTERS = str.maketrans(
    {
        "Ł": "L",
        "ł": "l",
        "Ø": "O",
        "ø": "o",
        "Đ": "D",
        "đ": "d",
        "ß": "ss",
        "Æ": "AE",
        "æ": "ae",
        "Œ": "OE",
        "œ": "oe",
        "Þ": "Th",
        "þ": "th",
        "\u0131": "i",  # dotless i
    }
)


def ascii_letters(text: str) -> str:
    """The text with the letters that do not decompose (Ł, ø, ß, ...) spelt in ASCII."""
    return text.translate(_LETTERS)


def _ascii_word(text: str) -> str:
    folded = unicodedata.normalize("NFKD", ascii_letters(text))
    folded = folded.encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]", "", folded).lower()


def _surname(name: str) -> str:
    return name.split(",")[0] if "," in name else (name.split() or [""])[-1]


def _key(paper: Paper, taken: set[str]) -> str:
    names = paper.author_names
    surname = _ascii_word(_surname(names[0])) if names else "anon"
    year = (paper.published_at or paper.listed_on).year
    words = [w for w in (_ascii_word(w) for w in paper.title.split()) if len(w) > 3]
    key = f"{surname or 'anon'}{year}{words[0] if words else ''}"
    unique, n = key, 0
    while unique in taken:
        n += 1
        unique = f"{key}{chr(ord('a') + n - 1) if n <= 26 else n}"
    taken.add(unique)
    return unique


def _bib_name(name: str) -> str:
    escaped = latex_escape(name)
    # A name holding "and" or a comma is one name: braces keep BibTeX from splitting it.
    return f"{{{escaped}}}" if re.search(r",|\band\b", name) else escaped


def bibtex(papers: Iterable[Paper]) -> str:
    taken: set[str] = set()
    entries = []
    for paper in papers:
        fields = [
            ("title", "{" + latex_escape(paper.title, keep_math=True) + "}"),
            ("author", " and ".join(_bib_name(n) for n in paper.author_names) or "{Anonymous}"),
            ("year", str((paper.published_at or paper.listed_on).year)),
            ("eprint", paper.arxiv_id),
            ("archivePrefix", "arXiv"),
        ]
        if paper.primary_category:
            fields.append(("primaryClass", latex_escape(paper.primary_category)))
        fields.append(("url", paper.arxiv_url))
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        entries.append(f"@misc{{{_key(paper, taken)},\n{body}\n}}\n")
    return "\n".join(entries)


def _csl_name(name: str) -> dict[str, str]:
    parts = name.rsplit(" ", 1)
    if len(parts) == 2 and "," not in name:
        return {"given": parts[0], "family": parts[1]}
    return {"literal": name}


def csl_json(papers: Iterable[Paper]) -> list[dict[str, Any]]:
    taken: set[str] = set()
    items = []
    for paper in papers:
        day = paper.published_at.date() if paper.published_at else paper.listed_on
        items.append(
            {
                "id": _key(paper, taken),
                "type": "article",
                "title": paper.title,
                "author": [_csl_name(n) for n in paper.author_names],
                "issued": {"date-parts": [[day.year, day.month, day.day]]},
                "abstract": paper.abstract,
                "URL": paper.arxiv_url,
                "number": f"arXiv:{paper.arxiv_id}",
                "publisher": "arXiv",
                "archive": "arXiv",
                "archive_location": paper.arxiv_id,
            }
        )
    return items


FORMATS = {"bib": "application/x-bibtex", "csl.json": "application/vnd.citationstyles.csl+json"}


def export_response(papers: Iterable[Paper], fmt: str, filename: str) -> HttpResponse:
    """A download of the papers in `fmt` ("bib" or "csl.json")."""
    body = bibtex(papers) if fmt == "bib" else json.dumps(csl_json(papers), indent=2) + "\n"
    response = HttpResponse(body, content_type=f"{FORMATS[fmt]}; charset=utf-8")
    safe = re.sub(r"[^A-Za-z0-9._-]", "-", filename)[:100] or "papers"
    response["Content-Disposition"] = f'attachment; filename="{safe}.{fmt}"'
    return response
