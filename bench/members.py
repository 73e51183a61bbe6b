"""Benchmark members made with the ORM: voters with API tokens, and a reader who logs in.

Needs Django set up (the callers do it). Every member is recognised by its username prefix,
so a run removes what an earlier run left.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reader:
    """A member who signs in through the login form, with a known password."""

    username: str
    email: str
    password: str


def remove_members(prefix: str) -> None:
    """Delete the members whose username starts with `prefix`; their votes go with the
    counters moved down, the way paper_unvote does it, so their papers start without drift."""
    from django.db import transaction
    from django.db.models import Count, F

    from accounts.models import User
    from papers.models import Paper, Upvote

    with transaction.atomic():
        votes = Upvote.objects.filter(user__username__startswith=prefix)
        per_paper = votes.values("paper_id").annotate(n=Count("id")).order_by()
        for row in per_paper:
            Paper.objects.filter(pk=row["paper_id"]).update(
                upvote_count=F("upvote_count") - row["n"]
            )
        votes.delete()
        User.objects.filter(username__startswith=prefix).delete()


def create_token_members(prefix: str, count: int, *, label: str) -> list[str]:
    """`count` members (<prefix><i>), one API token each (made by accounts.services); the
    plaintexts."""
    from django.contrib.auth.hashers import make_password

    from accounts.models import User
    from accounts.services import api_token_create

    unusable = make_password(None)  # cheap: no hashing for an unusable password
    users = User.objects.bulk_create(
        [User(username=f"{prefix}{i}", password=unusable, email="") for i in range(count)]
    )
    return [api_token_create(user=user, name=label).plaintext for user in users]


def prepare_reader(reader: Reader) -> str:
    """The reader with its password and a verified primary address (email verification is
    mandatory: an unverified address cannot log in); a new API token, the only active one."""
    from allauth.account.models import EmailAddress

    from accounts.models import User
    from accounts.services import api_token_create

    user, _ = User.objects.get_or_create(username=reader.username)
    user.email = reader.email
    user.is_active = True
    user.set_password(reader.password)
    user.save()
    EmailAddress.objects.filter(user=user).exclude(email=reader.email).delete()
    EmailAddress.objects.update_or_create(
        user=user, email=reader.email, defaults={"verified": True, "primary": True}
    )
    user.api_tokens.all().delete()  # each run makes one: never past the limit on tokens
    return api_token_create(user=user, name="http benchmark").plaintext
