"""Our own API shapes (`/api/papers`, votes, submissions) and the inputs of every endpoint.

Hugging Face's shapes are in api/hf_shapes.py; the error shape in api/errors.py.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from papers import categories
from papers.models import Paper
from papers.periods import Period, parse_period
from papers.selectors import arxiv_id_in_query

MAX_PAGE = 10_000
MAX_LIMIT = 100
DEFAULT_LIMIT = 50
MAX_QUERY = 200
MAX_VOTES = 2**31 - 1


# --- our own shapes ---------------------------------------------------------------------


class SubmitterSerializer(serializers.Serializer[Any]):
    username = serializers.CharField()
    fullname = serializers.CharField()
    # The field is named as the API's shape says; it hides Field.source on this class only.
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=["local", "huggingface"], help_text="A member here, or a Hugging Face user"
    )


class PaperSerializer(serializers.Serializer[Any]):
    """A paper in our own API (`/api/papers`, submissions)."""

    arxiv_id = serializers.CharField()
    title = serializers.CharField()
    abstract = serializers.CharField(allow_blank=True)
    authors = serializers.ListField(child=serializers.CharField(), source="author_names")
    published_at = serializers.DateTimeField(allow_null=True)
    listed_on = serializers.DateField(help_text="The day the paper is featured")
    primary_category = serializers.CharField(
        allow_blank=True, help_text="arXiv's primary category, like cs.LG (empty: not known)"
    )
    categories = serializers.ListField(
        child=serializers.CharField(), help_text="The primary category, then the cross-lists"
    )
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


class VoteStateSerializer(serializers.Serializer[Any]):
    upvoted = serializers.BooleanField()
    upvotes = serializers.IntegerField(help_text="Local plus Hugging Face votes")


# --- inputs -----------------------------------------------------------------------------


class CategoryField(serializers.CharField):
    """An arXiv category code (cs.LG, hep-th): a paper filed in it or cross-listed to it."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "help_text", "An arXiv category, like cs.LG: papers filed in it or cross-listed to it"
        )
        super().__init__(required=False, allow_blank=True, max_length=40, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        code = categories.clean_category(value)
        if code is None:
            raise serializers.ValidationError(f"{value!r} is not an arXiv category (like cs.LG).")
        return code


class DailyPapersQuerySerializer(serializers.Serializer[Any]):
    """The query of `GET /api/daily_papers`, as Hugging Face takes it."""

    date = serializers.CharField(required=False, max_length=20, help_text="A day, YYYY-MM-DD")
    week = serializers.CharField(required=False, max_length=20, help_text="An ISO week, YYYY-Www")
    month = serializers.CharField(required=False, max_length=20, help_text="A month, YYYY-MM")
    submitter = serializers.CharField(
        required=False, max_length=150, help_text="Username of the submitter"
    )
    category = CategoryField()
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
            except ValueError as exc:
                raise serializers.ValidationError({kind: str(exc)}) from None
        attrs["period"] = period
        return attrs


class PaperSearchQuerySerializer(serializers.Serializer[Any]):
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_QUERY,
        help_text="Words to find, or an arXiv id or URL. Empty: the latest papers.",
    )
    category = CategoryField()
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)


class SimilarQuerySerializer(serializers.Serializer[Any]):
    limit = serializers.IntegerField(min_value=1, max_value=50, default=10)


class PaperListQuerySerializer(serializers.Serializer[Any]):
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
    category = CategoryField()


class SubmitInputSerializer(serializers.Serializer[Any]):
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
