"""URLs under /api/: Hugging Face-compatible reads, our own endpoints, the OpenAPI schema."""

from __future__ import annotations

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api import claims, collections, discussions, errors
from api import papers as api
from api.accounts import HfWhoAmIApi, WhoAmIApi
from papers.sources.records import OLD_ID


class ApiPaperIdConverter:
    """An old-style id (with its slash), or any single path segment: an id that does not
    exist gets the API's JSON 404 rather than the site's HTML one."""

    regex = rf"(?:{OLD_ID}(?:v\d+)?|[^/]+)"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ApiPaperIdConverter, "api_paper_id")

app_name = "api"

urlpatterns = [
    path("daily_papers", api.DailyPapersApi.as_view(), name="daily-papers"),
    path("papers", api.PaperListApi.as_view(), name="papers"),
    path("papers/search", api.PaperSearchApi.as_view(), name="paper-search"),
    path("papers/submit", api.PaperSubmitApi.as_view(), name="paper-submit"),
    path(
        "papers/<api_paper_id:paper_id>/upvote",
        api.PaperUpvoteApi.as_view(),
        name="paper-upvote",
    ),
    path(
        "papers/<api_paper_id:paper_id>/comment",
        discussions.PaperCommentApi.as_view(),
        name="paper-comment",
    ),
    path(
        "papers/<api_paper_id:paper_id>/comments",
        discussions.PaperCommentsApi.as_view(),
        name="paper-comments",
    ),
    path(
        "papers/<api_paper_id:paper_id>/comment/<int:comment_id>",
        discussions.CommentApi.as_view(),
        name="comment",
    ),
    path(
        "papers/<api_paper_id:paper_id>/comment/<int:comment_id>/reply",
        discussions.CommentReplyApi.as_view(),
        name="comment-reply",
    ),
    path(
        "papers/<api_paper_id:paper_id>/comment/<int:comment_id>/react",
        discussions.CommentReactionApi.as_view(),
        name="comment-react",
    ),
    path(
        "papers/<api_paper_id:paper_id>/similar",
        api.PaperSimilarApi.as_view(),
        name="paper-similar",
    ),
    path("papers/<api_paper_id:paper_id>", api.PaperInfoApi.as_view(), name="paper"),
    path("settings/papers/claim", claims.PaperClaimApi.as_view(), name="paper-claim"),
    path("collections", collections.CollectionsApi.as_view(), name="collections"),
    path(
        "collections/<str:owner>/<slug:slug>",
        collections.CollectionApi.as_view(),
        name="collection",
    ),
    path(
        "collections/<str:owner>/<slug:slug>/items",
        collections.CollectionItemsApi.as_view(),
        name="collection-items",
    ),
    path(
        "collections/<str:owner>/<slug:slug>/items/<api_paper_id:paper_id>",
        collections.CollectionItemApi.as_view(),
        name="collection-item",
    ),
    path("whoami", WhoAmIApi.as_view(), name="whoami"),
    path("whoami-v2", HfWhoAmIApi.as_view(), name="whoami-v2"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's set-up script as a file: no inline script (CSP).
    # Swagger UI sets inline styles as it draws: that page alone allows them.
    path(
        "docs/",
        csp_update({"style-src": [UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(url_name="api:schema")
        ),
        name="docs",
    ),
    re_path(r"^", errors.not_found),
]
