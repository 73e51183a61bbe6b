from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.http import HttpRequest

HANDLE_PREFIX = "member-"
# The avatar colours, as static/css/site.css's .avatar.colour-N.
AVATAR_COLOURS = (
    "#1e3a8a",
    "#7c2d12",
    "#065f46",
    "#5b21b6",
    "#9d174d",
    "#1f2937",
    "#0e7490",
    "#a16207",
)


def new_handle() -> str:
    """A neutral public handle (`member-k3x9q2ha`): never derived from an email address."""
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"  # no look-alikes
    return HANDLE_PREFIX + "".join(secrets.choice(alphabet) for _ in range(8))


class User(AbstractUser):
    """A member. Custom from the first migration so fields can be added later.

    `username` is the public handle (a neutral one is made at sign-up); `display_name` is
    the name they choose to be shown by. Their email address is never shown to others.
    """

    display_name = models.CharField(
        max_length=50, blank=True, help_text="Shown with what they submit; the handle if empty"
    )
    bio = models.TextField(blank=True, max_length=500, help_text="Shown on their public page")
    website = models.URLField(blank=True, max_length=200)
    show_upvotes = models.BooleanField(
        "show my upvotes on my public page", default=False, help_text="Private by default"
    )
    notify_by_email = models.BooleanField(
        "mail me mentions and replies",
        default=True,
        help_text="At most one mail an hour, to a confirmed address only",
    )
    muted_at = models.DateTimeField(
        null=True, blank=True, help_text="Muted by staff: may read and vote, not comment"
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    @property
    def public_name(self) -> str:
        """How others see the member: their display name, else their handle."""
        return self.display_name or self.username

    @property
    def initials(self) -> str:
        """One or two letters for the avatar (no upload: initials on a colour)."""
        words = [w for w in self.public_name.replace("-", " ").split() if w[:1].isalnum()]
        letters = "".join(w[0] for w in words[:2]) or self.username[:1]
        return letters.upper()

    @property
    def avatar_colour(self) -> int:
        """Which of the eight avatar colours (static/css/site.css) the member's initials get."""
        return (self.pk or 0) % len(AVATAR_COLOURS)

    @property
    def label(self) -> str:
        """How the site names the member to themselves."""
        return self.email or self.username


class MemberRequest(HttpRequest):
    """The type of a request that `login_required` let through: its user is a member."""

    user: User


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at=None)


class ApiToken(models.Model):
    """A member's personal API token, sent as `Authorization: Bearer <token>`.

    Only a SHA-256 digest of the token is stored: the plaintext is shown once, when the
    token is created. Tokens are long random strings, so a fast hash is enough (there is
    nothing to brute-force) and lets the lookup use an index. A revoked token keeps its
    row, so the profile and the admin can show when it was revoked.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="The member's label for the token")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(
        max_length=16, editable=False, help_text="The first characters, to recognise it"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="apitoken_user_recent")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
