from __future__ import annotations

from typing import Any

from django import forms

from digests.models import Frequency
from papers import categories as arxiv_categories

MAX_KEYWORDS = 10
MAX_KEYWORD_LENGTH = 60


class ListTextField(forms.CharField):
    """An optional list typed as text, shown again comma-separated; subclasses clean it."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 1000)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(value)
        return value

    def text(self, value: Any) -> str:
        return super().clean(value) or ""


class KeywordsField(ListTextField):
    """Comma-separated topic keywords, cleaned into a list without duplicates."""

    def clean(self, value: Any) -> list[str]:
        text = self.text(value)
        keywords: list[str] = []
        for part in text.replace(";", ",").split(","):
            keyword = " ".join(part.split())
            if not keyword or keyword.lower() in (k.lower() for k in keywords):
                continue
            if len(keyword) < 2 or len(keyword) > MAX_KEYWORD_LENGTH:
                raise forms.ValidationError(
                    f"Each topic must be 2 to {MAX_KEYWORD_LENGTH} characters long."
                )
            keywords.append(keyword)
        if len(keywords) > MAX_KEYWORDS:
            raise forms.ValidationError(f"At most {MAX_KEYWORDS} topics.")
        return keywords


MAX_CATEGORIES = 20


class CategoriesField(ListTextField):
    """Comma- or space-separated arXiv category codes (cs.LG, hep-th), each checked."""

    def clean(self, value: Any) -> list[str]:
        text = self.text(value)
        codes: list[str] = []
        for part in text.replace(",", " ").split():
            code = arxiv_categories.clean_category(part)
            if not code:
                raise forms.ValidationError(f"{part[:40]} is not an arXiv category (like cs.LG).")
            if code not in codes:
                codes.append(code)
        if len(codes) > MAX_CATEGORIES:
            raise forms.ValidationError(f"At most {MAX_CATEGORIES} categories.")
        return codes


class PreferencesForm(forms.Form):
    frequency = forms.ChoiceField(
        choices=Frequency.choices, initial=Frequency.DAILY, widget=forms.RadioSelect
    )
    keywords = KeywordsField(
        label="Topics",
        help_text="Optional, comma-separated. Only papers whose title, abstract or keywords "
        "mention one of them; none: the top papers.",
    )
    categories = CategoriesField(
        label="arXiv categories",
        help_text="Optional, like cs.LG, stat.ML. Only papers filed in or cross-listed to "
        "one of them; none: every category.",
    )
    for_you = forms.BooleanField(
        required=False,
        label="For you",
        help_text="Rank the papers by what you upvote, save and follow here (members).",
    )


class SubscribeForm(PreferencesForm):
    email = forms.EmailField(max_length=254)

    field_order = ["email", "frequency", "keywords", "categories"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["for_you"]  # a new address is no member's yet
