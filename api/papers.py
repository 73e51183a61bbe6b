"""The paper endpoints of the REST API.

Hugging Face-compatible reads (`/api/daily_papers`, `/api/papers/<id>`,
`/api/papers/search`) answer in huggingface.co's shapes, so its tools and the unmodified
`huggingface_hub` client work against this server. Our own endpoints (`/api/papers`,
upvotes, submissions) use plain snake_case shapes. Every error is `{"error": "..."}`.

Dates. Every time is written `YYYY-MM-DDTHH:MM:SS.sssZ` in true UTC:

- `paper.publishedAt`: the first arXiv version (the listing day's midnight if unknown);
- `paper.submittedOnDailyAt`: midnight UTC of the day the paper is listed on;
- the item-level `publishedAt` of daily papers and search results: the same instant as
  `paper.publishedAt`. Hugging Face derives it from the same value but writes the US
  Eastern wall-clock time with a `Z` (2026-05-30T00:00Z becomes 2026-05-29T20:00Z), which
  moves midnight dates to the previous day. We do not copy that: clients get the real
  instant, and its date is the publication date. (huggingface_hub's PaperInfo reads this
  key as `submitted_at`; the listing day is in `paper.submittedOnDailyAt`.)

Caching. Reads are kept as entries of papers.caching (see its docstring): an answer
depends on the papers it shows, and a vote changes only the answers that show that paper.
A changed answer is rebuilt at most once a second, so under votes an answer may be up to
about a second old: the `Age` header says how old. Reads send an ETag and answer a
matching `If-None-Match` with 304. Answers that say what the caller upvoted are kept per
member and are never late on the member's own votes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime, timedelta
from http import HTTPStatus
from typing import Any, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import ListAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from accounts.authentication import (
    AnonRateThrottle,
    BearerTokenAuthentication,
    MemberRateThrottle,
    OptionalBearerTokenAuthentication,
    VoteRateThrottle,
    request_member,
)
from api.errors import ERRORS, MEMBER_ERRORS, ErrorSerializer, error, paper_or_404
from api.hf_shapes import (
    HfDailyPaperSerializer,
    HfPaperInfoSerializer,
    HfPaperSerializer,
    HfSearchResultSerializer,
    with_people,
)
from api.serializers import (
    DailyPapersQuerySerializer,
    PaperListQuerySerializer,
    PaperSearchQuerySerializer,
    PaperSerializer,
    SimilarQuerySerializer,
    SubmitInputSerializer,
    VoteStateSerializer,
)
from caching.responses import Read, answer, kept_answer
from caching.store import DEFAULT_TTL
from papers.caching import papers_matching, period_scope, related_papers
from papers.embeddings import EMBEDDINGS_SCOPE
from papers.models import Paper, PaperQuerySet
from papers.periods import parse_period
from papers.selectors import (
    daily_papers,
    papers_filtered,
    upvoted_ids,
)
from papers.services.submissions import (
    SubmissionError,
    SubmissionRefused,
    paper_submit,
    submissions_left_today,
)
from papers.services.votes import paper_vote_by_arxiv_id
from papers.sources import arxiv
from papers.sources.records import NEW_ID, OLD_ID, split_arxiv_id
from papers.terms import search_terms, terms_pattern

DAILY_PARAMS = ("date", "week", "month", "submitter", "category", "sort", "p", "limit")
TRENDING_REFRESH_SECONDS = 60  # the ranking moves with time, not only with votes
MIN_UPVOTES_REFRESH_SECONDS = 5
# Part of every ETag and cache key: change it when a response shape changes.
REPRESENTATION = "2026-12-api-2"
PAPER_ID_PATTERN = rf"^(?:{NEW_ID}|{OLD_ID})(?:v\d+)?$"

HF_TAG = "Hugging Face-compatible"
PAPERS_TAG = "Papers"

PUBLIC_READ_AUTH = [OptionalBearerTokenAuthentication, SessionAuthentication]
MEMBER_AUTH = [BearerTokenAuthentication, SessionAuthentication]

_paper_id_parameter = OpenApiParameter(
    "paper_id",
    str,
    OpenApiParameter.PATH,
    pattern=PAPER_ID_PATTERN,
    description="arXiv id, new (2401.12345) or old style (hep-th/9901001), version optional",
)
_not_modified = OpenApiResponse(description="Not modified (If-None-Match matched the ETag)")


# --- plumbing ---------------------------------------------------------------------------


def _cache_key(request: HttpRequest, scope: str, params: tuple[str, ...]) -> str:
    """What an answer depends on in the request: the site's address and the parameters this
    endpoint reads, nothing else (other parameters never make a new entry)."""
    query = request.GET
    values = [(name, query.getlist(name)) for name in params if name in query]
    # The Host header was checked against ALLOWED_HOSTS by CommonMiddleware already.
    host = request.META.get("HTTP_HOST", "")
    return repr((REPRESENTATION, scope, request.scheme, host, values))


def _shown_papers(items: Any, path: tuple[str, ...] = ()) -> list[str]:
    """The scopes of the papers in an answer (a list of items, or an item)."""
    rows = items if isinstance(items, list) else [items]
    scopes = []
    for row in rows:
        for step in path:
            row = row[step]
        scopes.append(f"paper:{row['id']}")
    return scopes


def _period_scope(request: HttpRequest) -> str | None:
    """The scope of the period a query names (None when it names none, or no valid one)."""
    for kind in ("date", "week", "month"):
        if value := request.GET.get(kind):
            return _scope_of(kind, value[:20])
    return None


@functools.lru_cache(maxsize=1024)
def _scope_of(kind: str, value: str) -> str | None:
    try:
        return period_scope(parse_period(kind, value))
    except (ValueError, OverflowError):
        return None


def _valid_query(serializer_class: type[Serializer[Any]], request: Request) -> dict[str, Any]:
    """The request's query parameters, validated (400 with the reason if they are not)."""
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    data: dict[str, Any] = query.validated_data
    return data


def _member_id(request: Request) -> int | None:
    """The caller, when an answer says what they upvoted."""
    return request.user.pk if request.user.is_authenticated else None


# --- Hugging Face-compatible reads --------------------------------------------------------


class CachedReadApi(APIView):
    """An API read kept by the caching layer (caching.responses.Read).

    A caller with neither a token nor a session is answered from a kept answer before
    DRF's request handling, with the same answer, headers and rate limit (the anonymous
    throttle, counted once); anything else, a miss included, goes through DRF. That halves
    the time of a cached read (docs/BENCHMARKS.md, "What each caching layer saves").
    """

    authentication_classes = PUBLIC_READ_AUTH
    permission_classes = [AllowAny]

    def read(self, request: Any, **kwargs: Any) -> Read:
        raise NotImplementedError

    def get(self, request: Request, **kwargs: Any) -> HttpResponse:
        return answer(request, self.read(request, **kwargs))

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if (
            request.method == "GET"
            and "HTTP_AUTHORIZATION" not in request.META
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
        ):
            kept = kept_answer(request, self.read(request, **kwargs))
            # A refusal goes through DRF, which refuses it again (a spent budget is not
            # counted twice) in its own words.
            throttle = AnonRateThrottle()
            if kept is not None and throttle.allow_request(cast(Request, request), self):
                for name, value in self.default_response_headers.items():  # as DRF adds them
                    if name == "Vary":
                        patch_vary_headers(kept, [value])
                    else:
                        kept[name] = value
                return kept
        return super().dispatch(request, *args, **kwargs)


class DailyPapersApi(CachedReadApi):
    @extend_schema(
        operation_id="daily_papers",
        summary="Daily papers (Hugging Face-compatible)",
        description=(
            "A bare JSON array of daily papers items, as huggingface.co answers. "
            "Give at most one of date, week and month; without any, the latest listed papers."
        ),
        tags=[HF_TAG],
        parameters=[DailyPapersQuerySerializer],
        responses={
            HTTPStatus.OK: HfDailyPaperSerializer(many=True),
            HTTPStatus.NOT_MODIFIED: _not_modified,
            **ERRORS,
        },
    )
    def get(self, request: Request, **kwargs: Any) -> HttpResponse:
        return super().get(request, **kwargs)

    def read(self, request: Any, **kwargs: Any) -> Read:
        def build() -> Any:
            params = _valid_query(DailyPapersQuerySerializer, request)
            papers = daily_papers(
                period=params["period"],
                sort=params["sort"],
                submitter=params.get("submitter"),
                page=params["p"],
                limit=params["limit"],
                now=timezone.now(),
                category=params.get("category", ""),
            )
            return HfDailyPaperSerializer(with_people(papers), many=True).data

        key = _cache_key(request, "daily", DAILY_PARAMS)
        period = _period_scope(request)
        if period is not None:  # what the period lists: its papers, their votes
            return Read(key, build, known_scopes=("catalog", period))
        if request.GET.get("sort") == "trending":
            # The site's trending ranking: the last days' votes, and the passing of time.
            return Read(
                key, build, known_scopes=("catalog", "recent"), max_age=TRENDING_REFRESH_SECONDS
            )
        # The latest papers: the set of papers, and the votes of those shown.
        shown = lambda data: _shown_papers(data, ("paper",))  # noqa: E731
        return Read(key, build, scopes=shown, known_scopes=("catalog",))


class PaperInfoApi(CachedReadApi):
    @extend_schema(
        operation_id="paper_info",
        summary="One paper (Hugging Face-compatible)",
        tags=[HF_TAG],
        parameters=[_paper_id_parameter],
        responses={
            HTTPStatus.OK: HfPaperInfoSerializer,
            HTTPStatus.NOT_MODIFIED: _not_modified,
            HTTPStatus.NOT_FOUND: ErrorSerializer,
            HTTPStatus.TOO_MANY_REQUESTS: ErrorSerializer,
        },
    )
    def get(self, request: Request, **kwargs: Any) -> HttpResponse:
        return super().get(request, **kwargs)

    def read(self, request: Any, **kwargs: Any) -> Read:
        arxiv_id, _version = split_arxiv_id(kwargs["paper_id"])
        return Read(
            _cache_key(request, f"paper:{arxiv_id}", ()),
            lambda: HfPaperInfoSerializer(paper_or_404(arxiv_id)).data,
            known_scopes=(f"paper:{arxiv_id}",),
        )


class PaperSimilarApi(CachedReadApi):
    @extend_schema(
        operation_id="paper_similar",
        summary="Papers similar to one, by meaning",
        description=(
            "A bare JSON array of paper objects (as in a daily papers item), the closest "
            "first: the papers whose title and abstract are nearest this one's, by their "
            "embeddings (shared title words until the paper has one)."
        ),
        tags=[PAPERS_TAG],
        parameters=[_paper_id_parameter, SimilarQuerySerializer],
        responses={
            HTTPStatus.OK: HfPaperSerializer(many=True),
            HTTPStatus.NOT_MODIFIED: _not_modified,
            HTTPStatus.NOT_FOUND: ErrorSerializer,
            **ERRORS,
        },
    )
    def get(self, request: Request, **kwargs: Any) -> HttpResponse:
        return super().get(request, **kwargs)

    def read(self, request: Any, **kwargs: Any) -> Read:
        arxiv_id, _version = split_arxiv_id(kwargs["paper_id"])

        def build() -> Any:
            params = _valid_query(SimilarQuerySerializer, request)
            papers = related_papers(paper_or_404(arxiv_id), limit=params["limit"])
            return HfPaperSerializer(with_people(papers), many=True).data

        return Read(
            _cache_key(request, f"similar:{arxiv_id}", ("limit",)),
            build,
            scopes=lambda data: [f"paper:{row['id']}" for row in data],
            known_scopes=(f"paper:{arxiv_id}", "catalog", EMBEDDINGS_SCOPE),
        )


class PaperSearchApi(CachedReadApi):
    @extend_schema(
        operation_id="papers_search",
        summary="Search papers (Hugging Face-compatible)",
        description=(
            "A bare JSON array, most relevant first, with the query's words marked in "
            "`highlightedTitle` and `highlightedSummary`."
        ),
        tags=[HF_TAG],
        parameters=[PaperSearchQuerySerializer],
        responses={
            HTTPStatus.OK: HfSearchResultSerializer(many=True),
            HTTPStatus.NOT_MODIFIED: _not_modified,
            **ERRORS,
        },
    )
    def get(self, request: Request, **kwargs: Any) -> HttpResponse:
        return super().get(request, **kwargs)

    def read(self, request: Any, **kwargs: Any) -> Read:
        def build() -> Any:
            params = _valid_query(PaperSearchQuerySerializer, request)
            text = params.get("q", "")
            papers = papers_matching(
                text, limit=params["limit"], category=params.get("category", "")
            )
            context = {
                "highlight": terms_pattern(search_terms(text)),
                "upvoted_ids": upvoted_ids(request.user, [p.pk for p in papers]),
            }
            return HfSearchResultSerializer(with_people(papers), many=True, context=context).data

        return Read(
            _cache_key(request, "search", ("q", "category", "limit")),
            build,
            scopes=lambda data: _shown_papers(data, ("paper",)),
            known_scopes=("catalog",),
            member_id=_member_id(request),
        )


# --- our own API ----------------------------------------------------------------------


class PaperCursorPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 100
    ordering = ("-listed_on", "-id")

    def decode_cursor(self, request: Request) -> Any:
        """DRF's cursor, whose position (a listing day) is checked too: a forged cursor is
        a bad cursor (404), not a database error."""
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                date.fromisoformat(cast(str, cursor.position))
            except (TypeError, ValueError):
                raise exceptions.NotFound(self.invalid_cursor_message) from None
        return cursor


class PaperListApi(ListAPIView[Paper]):
    authentication_classes = PUBLIC_READ_AUTH
    permission_classes = [AllowAny]
    serializer_class = PaperSerializer
    pagination_class = PaperCursorPagination

    def get_queryset(self) -> PaperQuerySet:
        return papers_filtered(**self.filters)

    @extend_schema(
        operation_id="papers_list",
        summary="Papers, newest listed first",
        description="Filtered and paged with an opaque cursor (follow `next`).",
        tags=[PAPERS_TAG],
        parameters=[PaperListQuerySerializer],
        responses={
            HTTPStatus.OK: PaperSerializer(many=True),
            HTTPStatus.NOT_MODIFIED: _not_modified,
            HTTPStatus.NOT_FOUND: OpenApiResponse(ErrorSerializer, description="Bad cursor"),
            **ERRORS,
        },
    )
    # A kept answer, not a DRF Response: it is rendered once, when it is built.
    def get(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:  # type: ignore[override]
        def build() -> Any:
            self.filters = _valid_query(PaperListQuerySerializer, request)
            page = self.paginate_queryset(self.get_queryset()) or []
            context = {
                "request": request,
                "upvoted_ids": upvoted_ids(request.user, [p.pk for p in page]),
            }
            data = PaperSerializer(page, many=True, context=context).data
            return self.get_paginated_response(data).data

        params = (
            "since",
            "until",
            "q",
            "has_github",
            "min_upvotes",
            "category",
            "cursor",
            "limit",
        )
        return answer(
            request,
            Read(
                _cache_key(request, "list", params),
                build,
                scopes=lambda data: [f"paper:{item['arxiv_id']}" for item in data["results"]],
                known_scopes=("catalog",),
                member_id=_member_id(request),
                # Which papers pass a vote threshold moves with every vote, shown or not.
                max_age=MIN_UPVOTES_REFRESH_SECONDS
                if "min_upvotes" in request.query_params
                else DEFAULT_TTL,
            ),
        )


def _vote_schema(operation_id: str, summary: str, description: str) -> Callable[..., Any]:
    """The OpenAPI description of an upvote or an unvote."""
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        description=description,
        tags=[PAPERS_TAG],
        parameters=[_paper_id_parameter],
        request=None,
        responses={
            HTTPStatus.OK: VoteStateSerializer,
            HTTPStatus.NOT_FOUND: ErrorSerializer,
            **MEMBER_ERRORS,
        },
    )


class PaperUpvoteApi(APIView):
    """A member's vote. After authentication, each call is one SQL statement: the paper is
    found by its unique arXiv id inside the vote (see paper_vote_by_arxiv_id), and the
    answer is built without a serializer (VoteStateSerializer documents it)."""

    authentication_classes = MEMBER_AUTH
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]
    throttle_classes = [AnonRateThrottle, MemberRateThrottle, VoteRateThrottle]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # One renderer: nothing to negotiate (DRF would parse the Accept header each time).
        renderer = self.renderer_classes[0]()
        return renderer, renderer.media_type

    def _vote(self, request: Request, paper_id: str, *, upvote: bool) -> Response:
        arxiv_id, _version = split_arxiv_id(paper_id)
        state = paper_vote_by_arxiv_id(
            arxiv_id=arxiv_id, user=request_member(request), upvote=upvote
        )
        if state is None:
            raise exceptions.NotFound("Paper not found")
        return Response({"upvoted": state.upvoted, "upvotes": state.upvotes})

    @_vote_schema(
        "paper_upvote", "Upvote a paper", "Idempotent: a second upvote keeps the one vote."
    )
    def post(self, request: Request, paper_id: str) -> Response:
        return self._vote(request, paper_id, upvote=True)

    @_vote_schema(
        "paper_unvote",
        "Take back an upvote",
        "Idempotent: taking back a vote that is not there changes nothing.",
    )
    def delete(self, request: Request, paper_id: str) -> Response:
        return self._vote(request, paper_id, upvote=False)


def _seconds_to_tomorrow(now: datetime) -> int:
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), now.tzinfo)
    return max(1, int((midnight - now).total_seconds()))


class PaperSubmitApi(APIView):
    authentication_classes = MEMBER_AUTH
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="paper_submit",
        summary="Submit a paper by arXiv id",
        description=(
            "As the website's submit form: the paper is read from arXiv and listed today "
            "with you as its submitter. 201 when added, 200 with the paper when it was "
            "already here, 429 when you reached today's submission limit."
        ),
        tags=[PAPERS_TAG],
        request=SubmitInputSerializer,
        responses={
            HTTPStatus.CREATED: PaperSerializer,
            HTTPStatus.OK: PaperSerializer,
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE: ErrorSerializer,
            **MEMBER_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        given = SubmitInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        user = request_member(request)
        try:
            result = paper_submit(
                user=user, arxiv_id=given.validated_data["paper_id"], fetch=arxiv.fetch_by_ids
            )
        except SubmissionRefused as exc:
            wait = str(max(1, int(exc.wait)))
            return error(HTTPStatus.TOO_MANY_REQUESTS, str(exc), **{"Retry-After": wait})
        except SubmissionError as exc:
            now = timezone.now()
            # paper_submit accepts an existing paper before it checks the limit, so a
            # failure with no submissions left is the limit (checked after, not before,
            # so an existing paper is still answered with 200).
            if submissions_left_today(user=user, today=now.date()) <= 0:
                retry = str(_seconds_to_tomorrow(now))
                return error(HTTPStatus.TOO_MANY_REQUESTS, str(exc), **{"Retry-After": retry})
            return error(HTTPStatus.BAD_REQUEST, str(exc))
        paper = result.paper
        if paper.hidden:
            return error(HTTPStatus.BAD_REQUEST, "This paper was removed by the moderators.")
        context = {"request": request, "upvoted_ids": upvoted_ids(user, [paper.pk])}
        return Response(
            PaperSerializer(paper, context=context).data,
            status=HTTPStatus.CREATED if result.created else HTTPStatus.OK,
        )
