from __future__ import annotations

from typing import Any

from django import forms

from digests.models import Frequency

MAX_KEYWORDS = 10
MAX_KEYWORD_LENGTH = 60


class KeywordsField(forms.CharField):
    """Comma-separated topic keywords, cleaned into a list without duplicates."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 1000)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(value)
        return value

    def clean(self, value: Any) -> list[str]:
        text = super().clean(value) or ""
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


class PreferencesForm(forms.Form):
    frequency = forms.ChoiceField(
        choices=Frequency.choices, initial=Frequency.DAILY, widget=forms.RadioSelect
    )
    keywords = KeywordsField(
        label="Topics",
        help_text="Optional, comma-separated. Only papers whose title, abstract or keywords "
        "mention one of them; none: the top papers.",
    )
    for_you = forms.BooleanField(
        required=False,
        label="For you",
        help_text="Rank the papers by what you upvote, save and follow here (members).",
    )


class SubscribeForm(PreferencesForm):
    email = forms.EmailField(max_length=254)

    field_order = ["email", "frequency", "keywords"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["for_you"]  # a new address is no member's yet
