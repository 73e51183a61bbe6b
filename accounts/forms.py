"""Forms of a member's own pages."""

from __future__ import annotations

import unicodedata

from django import forms


class DisplayNameForm(forms.Form):
    display_name = forms.CharField(
        max_length=50,
        required=False,
        strip=True,
        label="Display name",
        help_text="Shown with the papers you submit. Leave it empty to show your handle.",
    )

    def clean_display_name(self) -> str:
        name = " ".join(self.cleaned_data["display_name"].split())
        if "@" in name:
            raise forms.ValidationError("A display name cannot be an email address.")
        if any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
            raise forms.ValidationError("Use letters, digits, spaces and punctuation only.")
        return name


class PublicProfileForm(forms.Form):
    bio = forms.CharField(
        max_length=500, required=False, strip=True, widget=forms.Textarea(attrs={"rows": 3})
    )
    website = forms.URLField(max_length=200, required=False, assume_scheme="https")
    show_upvotes = forms.BooleanField(required=False, label="Show my upvotes on my public page")


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, strip=True)
