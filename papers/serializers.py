"""API shapes: Hugging Face-compatible paper objects, our own paper object, and the inputs.

Hugging Face shapes follow the recorded responses in tests/fixtures/ key for key. What we
do not have is still there with an honest empty value, so that clients reading a key find
it: `null` (AI summary model, who added the GitHub repository, an author's claim status),
an empty list (media, linked models, datasets and Spaces) or `false`. Field names in
camelCase are Hugging Face's keys, kept as they are.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, time
from typing import Any

from django.core.validators import RegexValidator
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from papers.models import Paper
from papers.periods import Period, parse_period
from papers.selectors import arxiv_id_in_query

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


def _hf_person(*, key: str, username: str, fullname: str, avatar: str = "") -> dict[str, Any]:
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
        return _hf_person(key=f"{user.pk:024x}", username=user.username, fullname=user.public_name)
    person = paper.source_submitter
    if isinstance(person, dict) and person.get("user"):
        return _hf_person(
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


def hf_authors(paper: Paper) -> list[dict[str, Any]]:
    authors = []
    for index, author in enumerate(paper.authors):
        username = author.get("hf_user")
        user = (
            _hf_person(
                key=object_id("hf-user", username), username=username, fullname=author["name"]
            )
            if username
            else None
        )
        authors.append(
            {
                "_id": f"{paper.pk:016x}{index:08x}",
                "name": author["name"],
                "hidden": False,
                "user": user,
                "status": None,
                "statusLastChangedAt": None,
            }
        )
    return authors


def highlight_pattern(terms: list[str]) -> re.Pattern[str] | None:
    """A pattern for the query's words, whole words (and their plurals), any case."""
    if not terms:
        return None
    words = "|".join(re.escape(t) for t in sorted(set(terms), key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{words})(?:e?s)?(?!\w)", re.IGNORECASE)


def highlight(text: str, pattern: re.Pattern[str] | None) -> list[dict[str, str]]:
    """`text` cut into `text` and `highlight` segments, as Hugging Face's search returns."""
    if not text:
        return []
    if pattern is None:
        return [{"type": "text", "text": text}]
    segments: list[dict[str, str]] = []
    position = 0
    for match in pattern.finditer(text):
        if match.start() > position:
            segments.append({"type": "text", "text": text[position : match.start()]})
        segments.append({"type": "highlight", "text": match.group()})
        position = match.end()
    if position < len(text):
        segments.append({"type": "text", "text": text[position:]})
    return segments


# --- Hugging Face shapes ----------------------------------------------------------------


class HfUserSerializer(serializers.Serializer):
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


class HfOrganizationSerializer(serializers.Serializer):
    _id = serializers.CharField()
    name = serializers.CharField()
    fullname = serializers.CharField()
    avatar = serializers.CharField(allow_blank=True)


class HfAuthorSerializer(serializers.Serializer):
    _id = serializers.CharField()
    name = serializers.CharField()
    hidden = serializers.BooleanField()
    user = HfUserSerializer(allow_null=True, help_text="The author's Hugging Face account")
    status = serializers.CharField(allow_null=True, help_text="Not tracked here: always null")
    statusLastChangedAt = serializers.DateTimeField(allow_null=True)


class HfSegmentSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["text", "highlight"])
    text = serializers.CharField()


class HfPaperSerializer(serializers.Serializer):
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


class HfDailyPaperSerializer(serializers.Serializer):
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
        return False

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


# --- our own shapes ---------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """Every API error: `{"error": "..."}`, as Hugging Face's API answers."""

    error = serializers.CharField()


class SubmitterSerializer(serializers.Serializer):
    username = serializers.CharField()
    fullname = serializers.CharField()
    # The field is named as the API's shape says; it hides Field.source on this class only.
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=["local", "huggingface"], help_text="A member here, or a Hugging Face user"
    )


class PaperSerializer(serializers.Serializer):
    """A paper in our own API (`/api/papers`, submissions)."""

    arxiv_id = serializers.CharField()
    title = serializers.CharField()
    abstract = serializers.CharField(allow_blank=True)
    authors = serializers.ListField(child=serializers.CharField(), source="author_names")
    published_at = serializers.DateTimeField(allow_null=True)
    listed_on = serializers.DateField(help_text="The day the paper is featured")
    submitter = serializers.SerializerMethodField()
    upvotes = serializers.IntegerField(source="votes", help_text="Local plus Hugging Face votes")
    local_upvotes = serializers.IntegerField(source="upvote_count")
    upvoted = serializers.SerializerMethodField(help_text="Whether you upvoted it")
    comment_count = serializers.IntegerField()
    github_repo = serializers.SerializerMethodField()
    github_stars = serializers.IntegerField(allow_null=True)
    project_page = serializers.SerializerMethodField()
    ai_summary = serializers.SerializerMethodField()
    ai_keywords = serializers.ListField(child=serializers.CharField())
    thumbnail_url = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField(help_text="The paper's page on this site")
    arxiv_url = serializers.URLField()
    pdf_url = serializers.URLField()

    @extend_schema_field(SubmitterSerializer(allow_null=True))
    def get_submitter(self, paper: Paper) -> dict[str, str] | None:
        user = paper.submitted_by
        if user is not None:
            return {"username": user.username, "fullname": user.public_name, "source": "local"}
        person = paper.source_submitter
        if isinstance(person, dict) and person.get("user"):
            return {
                "username": person["user"],
                "fullname": person.get("fullname") or person["user"],
                "source": "huggingface",
            }
        return None

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_upvoted(self, paper: Paper) -> bool:
        return paper.pk in self.context.get("upvoted_ids", ())

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_github_repo(self, paper: Paper) -> str | None:
        return paper.github_repo or None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_project_page(self, paper: Paper) -> str | None:
        return paper.project_page or None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_ai_summary(self, paper: Paper) -> str | None:
        return paper.ai_summary or None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_thumbnail_url(self, paper: Paper) -> str | None:
        return paper.thumbnail_url or None

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, paper: Paper) -> str:
        path = reverse("papers:paper", args=[paper.arxiv_id])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class VoteStateSerializer(serializers.Serializer):
    upvoted = serializers.BooleanField()
    upvotes = serializers.IntegerField(help_text="Local plus Hugging Face votes")


# --- inputs -----------------------------------------------------------------------------


class DailyPapersQuerySerializer(serializers.Serializer):
    """The query of `GET /api/daily_papers`, as Hugging Face takes it."""

    date = serializers.CharField(
        required=False,
        validators=[RegexValidator(r"^\d{4}-\d{2}-\d{2}$", "Use YYYY-MM-DD.")],
        help_text="A day, YYYY-MM-DD",
    )
    week = serializers.CharField(
        required=False,
        validators=[RegexValidator(r"^\d{4}-W\d{2}$", "Use YYYY-Www, like 2026-W24.")],
        help_text="An ISO week, YYYY-Www",
    )
    month = serializers.CharField(
        required=False,
        validators=[RegexValidator(r"^\d{4}-\d{2}$", "Use YYYY-MM.")],
        help_text="A month, YYYY-MM",
    )
    submitter = serializers.CharField(
        required=False, max_length=150, help_text="Username of the submitter"
    )
    sort = serializers.ChoiceField(
        choices=["publishedAt", "trending"],
        default="publishedAt",
        help_text=(
            "publishedAt: newest first. trending: the trending ranking (most votes first "
            "within a date, week or month)."
        ),
    )
    p = serializers.IntegerField(
        min_value=0, max_value=MAX_PAGE, default=0, help_text="Page, from 0"
    )
    limit = serializers.IntegerField(
        min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT, help_text="Papers per page"
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kinds = [kind for kind in ("date", "week", "month") if kind in attrs]
        if len(kinds) > 1:
            raise serializers.ValidationError("Give at most one of date, week and month.")
        period: Period | None = None
        if kinds:
            kind = kinds[0]
            try:
                period = parse_period(kind, attrs[kind])
            except (ValueError, OverflowError):
                message = f"{attrs[kind]} is not a valid {kind}."
                raise serializers.ValidationError({kind: message}) from None
        attrs["period"] = period
        return attrs


class PaperSearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_QUERY,
        help_text="Words to find, or an arXiv id or URL. Empty: the latest papers.",
    )
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)


class PaperListQuerySerializer(serializers.Serializer):
    since = serializers.DateField(required=False, help_text="Listed on or after this day")
    until = serializers.DateField(required=False, help_text="Listed on or before this day")
    q = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_QUERY, help_text="Full-text query"
    )
    has_github = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="true: only papers with code; false: only papers without",
    )
    min_upvotes = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_VOTES, help_text="Local plus source votes"
    )


class SubmitInputSerializer(serializers.Serializer):
    paper_id = serializers.CharField(
        max_length=MAX_QUERY, help_text="An arXiv id (2401.12345) or an arXiv URL"
    )

    def validate_paper_id(self, value: str) -> str:
        arxiv_id = arxiv_id_in_query(value)
        if arxiv_id is None:
            raise serializers.ValidationError(
                "Enter an arXiv id (like 2401.12345) or an arXiv URL."
            )
        return arxiv_id
