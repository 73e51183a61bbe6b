"""Hugging Face's API shapes: paper objects, daily papers items, search results, people.

Hugging Face shapes follow the recorded responses in tests/fixtures/ key for key. What we
do not have is still there with an honest empty value, so that clients reading a key find
it: `null` (AI summary model, who added the GitHub repository, the claim status of an
author nobody verified), an empty list (media, linked models, datasets and Spaces) or
`false`. Field names in camelCase are Hugging Face's keys, kept as they are.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from discussions.selectors import authors_participating
from papers.claims import attach_claims, author_id, verified_authors
from papers.models import Paper
from papers.terms import segments

MAX_PAGE = 10_000
MAX_LIMIT = 100
DEFAULT_LIMIT = 50
MAX_QUERY = 200
MAX_VOTES = 2**31 - 1


# --- values -----------------------------------------------------------------------------


def hf_datetime(value: datetime) -> str:
    """`2026-06-12T00:00:00.000Z`: UTC with milliseconds, as Hugging Face writes times."""
    value = value.astimezone(UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime.combine(day, time(0), tzinfo=UTC)


def paper_published_at(paper: Paper) -> datetime:
    """When the paper was published: its first arXiv version, else the day it was listed."""
    return paper.published_at or day_start(paper.listed_on)


def object_id(kind: str, key: str) -> str:
    """A stable 24-hex-digit id (the form of Hugging Face's `_id`) for something we name."""
    return hashlib.blake2b(f"{kind}:{key}".encode(), digest_size=12).hexdigest()


# A person's shape is declared once for the schema (HfUserSerializer) and built here as a
# plain dict, without a serializer per person on every paper: tests/api/test_schema.py
# checks every answer against the schema, so the two cannot drift apart.
def hf_person(*, key: str, username: str, fullname: str, avatar: str = "") -> dict[str, Any]:
    return {
        "_id": key,
        "avatarUrl": avatar,
        "fullname": fullname or username,
        "name": username,
        "user": username,
        "type": "user",
        "isPro": False,
        "isHf": False,
        "isHfAdmin": False,
        "isMod": False,
        "followerCount": None,
        "isUserFollowing": False,
    }


def hf_submitter(paper: Paper) -> dict[str, Any] | None:
    """Who submitted the paper: a member here, else the Hugging Face user, else nobody."""
    user = paper.submitted_by
    if user is not None:
        return member_person(user)
    person = paper.source_submitter
    if isinstance(person, dict) and person.get("user"):
        return hf_person(
            key=object_id("hf-user", person["user"]),
            username=person["user"],
            fullname=person.get("fullname", ""),
            avatar=person.get("avatarUrl", ""),
        )
    return None


def hf_organization(paper: Paper) -> dict[str, str] | None:
    org = paper.organization
    if not isinstance(org, dict) or not org.get("name"):
        return None
    return {
        "_id": object_id("hf-org", org["name"]),
        "name": org["name"],
        "fullname": org.get("fullname") or org["name"],
        "avatar": org.get("avatar", ""),
    }


def member_person(user: User) -> dict[str, Any]:
    """A member of this site as Hugging Face describes a user."""
    return hf_person(
        key=f"{user.pk:024x}",
        username=user.username,
        fullname=user.public_name,
        avatar=reverse("people:avatar", args=[user.username]),
    )


def with_people(papers: Sequence[Paper]) -> Sequence[Paper]:
    """Attach to each paper its verified authors and whether one of them takes part in
    its discussion: two queries for the lot (one when nobody claimed an author)."""
    attach_claims(papers)
    pairs = {
        (paper.pk, claim.user_id) for paper in papers for claim in verified_authors(paper).values()
    }
    participating = authors_participating(pairs)
    for paper in papers:
        paper.author_participating = paper.pk in participating  # type: ignore[attr-defined]
    return papers


def is_author_participating(paper: Paper) -> bool:
    if not hasattr(paper, "author_participating"):
        with_people([paper])
    return bool(paper.author_participating)  # type: ignore[attr-defined]


def hf_authors(paper: Paper) -> list[dict[str, Any]]:
    """The paper's authors: a verified author is our member (status `claimed_verified`), an
    author Hugging Face linked to an account is that account."""
    verified = verified_authors(paper)
    authors = []
    for index, author in enumerate(paper.authors):
        claim = verified.get(index)
        username = author.get("hf_user")
        user = None
        if claim is not None:
            user = member_person(claim.user)
        elif username:
            user = hf_person(
                key=object_id("hf-user", username), username=username, fullname=author["name"]
            )
        authors.append(
            {
                "_id": author_id(paper, index),
                "name": author["name"],
                "hidden": False,
                "user": user,
                "status": "claimed_verified" if claim is not None else None,
                "statusLastChangedAt": (
                    hf_datetime(claim.decided_at) if claim and claim.decided_at else None
                ),
            }
        )
    return authors


def highlight(text: str, pattern: re.Pattern[str] | None) -> list[dict[str, str]]:
    """`text` cut into `text` and `highlight` segments, as Hugging Face's search returns
    (the rule of papers/terms.py)."""
    return [
        {"type": "highlight" if hit else "text", "text": piece}
        for piece, hit in segments(text, pattern)
    ]


# --- Hugging Face shapes ----------------------------------------------------------------


class HfUserSerializer(serializers.Serializer[Any]):
    """A person as Hugging Face describes one (a submitter, or an author's account)."""

    _id = serializers.CharField()
    avatarUrl = serializers.CharField(allow_blank=True)
    fullname = serializers.CharField()
    name = serializers.CharField()
    user = serializers.CharField()
    type = serializers.CharField()
    isPro = serializers.BooleanField()
    isHf = serializers.BooleanField()
    isHfAdmin = serializers.BooleanField()
    isMod = serializers.BooleanField()
    followerCount = serializers.IntegerField(allow_null=True)
    isUserFollowing = serializers.BooleanField()


class HfOrganizationSerializer(serializers.Serializer[Any]):
    _id = serializers.CharField()
    name = serializers.CharField()
    fullname = serializers.CharField()
    avatar = serializers.CharField(allow_blank=True)


class HfAuthorSerializer(serializers.Serializer[Any]):
    _id = serializers.CharField()
    name = serializers.CharField()
    hidden = serializers.BooleanField()
    user = HfUserSerializer(allow_null=True, help_text="The author's Hugging Face account")
    status = serializers.CharField(
        allow_null=True, help_text="`claimed_verified` for an author a moderator verified"
    )
    statusLastChangedAt = serializers.DateTimeField(allow_null=True)


class HfSegmentSerializer(serializers.Serializer[Any]):
    type = serializers.ChoiceField(choices=["text", "highlight"])
    text = serializers.CharField()


class HfPaperSerializer(serializers.Serializer[Any]):
    """The `paper` object of a daily papers item (and the base of the paper info object)."""

    id = serializers.CharField(source="arxiv_id", help_text="arXiv id, without version")
    authors = serializers.SerializerMethodField()
    publishedAt = serializers.SerializerMethodField(
        help_text="First arXiv version (the listing day when unknown)"
    )
    submittedOnDailyAt = serializers.SerializerMethodField(
        help_text="Midnight UTC of the day the paper is listed on"
    )
    title = serializers.CharField()
    submittedOnDailyBy = serializers.SerializerMethodField()
    summary = serializers.CharField(source="abstract")
    upvotes = serializers.IntegerField(source="votes", help_text="Local plus Hugging Face votes")
    discussionId = serializers.SerializerMethodField()
    ai_summary = serializers.SerializerMethodField()
    ai_keywords = serializers.ListField(child=serializers.CharField())
    ai_summary_model = serializers.SerializerMethodField(help_text="Not tracked: always null")
    githubRepo = serializers.SerializerMethodField()
    githubRepoAddedBy = serializers.SerializerMethodField(help_text="Not tracked: always null")
    githubStars = serializers.IntegerField(source="github_stars", allow_null=True)
    projectPage = serializers.SerializerMethodField()
    organization = serializers.SerializerMethodField()
    mediaUrls = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_publishedAt(self, paper: Paper) -> str:
        return hf_datetime(paper_published_at(paper))

    @extend_schema_field(HfAuthorSerializer(many=True))
    def get_authors(self, paper: Paper) -> list[dict[str, Any]]:
        return hf_authors(paper)

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_submittedOnDailyAt(self, paper: Paper) -> str:
        return hf_datetime(day_start(paper.listed_on))

    @extend_schema_field(HfUserSerializer(allow_null=True))
    def get_submittedOnDailyBy(self, paper: Paper) -> dict[str, Any] | None:
        return hf_submitter(paper)

    @extend_schema_field(OpenApiTypes.STR)
    def get_discussionId(self, paper: Paper) -> str:
        return f"{paper.pk:024x}"

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_ai_summary(self, paper: Paper) -> str | None:
        return paper.ai_summary or None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_ai_summary_model(self, paper: Paper) -> None:
        return None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_githubRepo(self, paper: Paper) -> str | None:
        return paper.github_repo or None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_githubRepoAddedBy(self, paper: Paper) -> None:
        return None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_projectPage(self, paper: Paper) -> str | None:
        return paper.project_page or None

    @extend_schema_field(HfOrganizationSerializer(allow_null=True))
    def get_organization(self, paper: Paper) -> dict[str, str] | None:
        return hf_organization(paper)

    @extend_schema_field(serializers.ListField(child=serializers.URLField()))
    def get_mediaUrls(self, paper: Paper) -> list[str]:
        return []


class HfPaperInfoSerializer(HfPaperSerializer):
    """`GET /api/papers/<id>`: the flat paper object, with no linked models, datasets or
    Spaces (we do not track them)."""

    numComments = serializers.IntegerField(source="comment_count")
    linkedModels = serializers.SerializerMethodField()
    numTotalModels = serializers.SerializerMethodField()
    linkedDatasets = serializers.SerializerMethodField()
    numTotalDatasets = serializers.SerializerMethodField()
    linkedSpaces = serializers.SerializerMethodField()
    numTotalSpaces = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_linkedModels(self, paper: Paper) -> list[Any]:
        return []

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_linkedDatasets(self, paper: Paper) -> list[Any]:
        return []

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_linkedSpaces(self, paper: Paper) -> list[Any]:
        return []

    @extend_schema_field(OpenApiTypes.INT)
    def get_numTotalModels(self, paper: Paper) -> int:
        return 0

    @extend_schema_field(OpenApiTypes.INT)
    def get_numTotalDatasets(self, paper: Paper) -> int:
        return 0

    @extend_schema_field(OpenApiTypes.INT)
    def get_numTotalSpaces(self, paper: Paper) -> int:
        return 0


class HfDailyPaperSerializer(serializers.Serializer[Any]):
    """One item of `GET /api/daily_papers`.

    Beyond Hugging Face, the item repeats `upvotes`, `ai_summary`, `ai_keywords`,
    `githubRepo`, `githubStars` and `projectPage` at its top level, where huggingface_hub's
    PaperInfo reads them (it reads `upvotes` from `paper`, but takes a 0 there for missing).
    """

    paper = HfPaperSerializer(source="*")
    publishedAt = serializers.SerializerMethodField(
        help_text=(
            "The paper's publication time, the same instant as `paper.publishedAt`. Hugging "
            "Face writes that instant as US Eastern wall-clock time labelled UTC; we write "
            "the true UTC time."
        ),
    )
    title = serializers.CharField()
    summary = serializers.CharField(source="abstract")
    thumbnail = serializers.SerializerMethodField()
    numComments = serializers.IntegerField(source="comment_count")
    submittedBy = serializers.SerializerMethodField()
    organization = serializers.SerializerMethodField()
    isAuthorParticipating = serializers.SerializerMethodField()
    mediaUrls = serializers.SerializerMethodField()
    upvotes = serializers.IntegerField(source="votes")
    ai_summary = serializers.SerializerMethodField()
    ai_keywords = serializers.ListField(child=serializers.CharField())
    githubRepo = serializers.SerializerMethodField()
    githubStars = serializers.IntegerField(source="github_stars", allow_null=True)
    projectPage = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_publishedAt(self, paper: Paper) -> str:
        return hf_datetime(paper_published_at(paper))

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_thumbnail(self, paper: Paper) -> str | None:
        return paper.thumbnail_url or None

    @extend_schema_field(HfUserSerializer(allow_null=True))
    def get_submittedBy(self, paper: Paper) -> dict[str, Any] | None:
        return hf_submitter(paper)

    @extend_schema_field(HfOrganizationSerializer(allow_null=True))
    def get_organization(self, paper: Paper) -> dict[str, str] | None:
        return hf_organization(paper)

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_isAuthorParticipating(self, paper: Paper) -> bool:
        return is_author_participating(paper)

    @extend_schema_field(serializers.ListField(child=serializers.URLField()))
    def get_mediaUrls(self, paper: Paper) -> list[str]:
        return []

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_ai_summary(self, paper: Paper) -> str | None:
        return paper.ai_summary or None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_githubRepo(self, paper: Paper) -> str | None:
        return paper.github_repo or None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_projectPage(self, paper: Paper) -> str | None:
        return paper.project_page or None


class HfSearchResultSerializer(HfDailyPaperSerializer):
    """One item of `GET /api/papers/search`: a daily papers item with the query's words
    marked in the title and the abstract, and whether the caller upvoted it."""

    upvoted = serializers.SerializerMethodField()
    highlightedTitle = serializers.SerializerMethodField()
    highlightedSummary = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_upvoted(self, paper: Paper) -> bool:
        return paper.pk in self.context.get("upvoted_ids", ())

    @extend_schema_field(HfSegmentSerializer(many=True))
    def get_highlightedTitle(self, paper: Paper) -> list[dict[str, str]]:
        return highlight(paper.title, self.context.get("highlight"))

    @extend_schema_field(HfSegmentSerializer(many=True))
    def get_highlightedSummary(self, paper: Paper) -> list[dict[str, str]]:
        return highlight(paper.abstract, self.context.get("highlight"))
