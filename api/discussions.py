"""The discussion API: Hugging Face's write shapes (`POST .../comment` and `.../reply`,
answered with `{"newMessage": ...}`, the event `huggingface_hub` deserialises), and our
own reads, edits, deletions and reactions. Members only for writes (a token or the
session), rate-limited per member like the site."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import (
    AnonRateThrottle,
    BearerTokenAuthentication,
    MemberRateThrottle,
    OptionalBearerTokenAuthentication,
    request_member,
)
from api.errors import ERRORS, WRITE_ERRORS, ErrorSerializer, error, paper_or_404
from api.hf_shapes import HfUserSerializer, hf_datetime, member_person
from discussions import selectors
from discussions.models import REACTIONS, Comment
from discussions.selectors import Shown
from discussions.services import (
    CommentError,
    comment_delete,
    comment_edit,
    comment_post,
    comment_react,
)
from papers.models import Paper

DISCUSSIONS_TAG = "Discussions"
MEMBER_AUTH = [BearerTokenAuthentication, SessionAuthentication]
PAGE_SIZE = 50

_paper_id = OpenApiParameter("paper_id", str, OpenApiParameter.PATH, description="arXiv id")
_comment_id = OpenApiParameter("comment_id", int, OpenApiParameter.PATH)


# --- shapes -------------------------------------------------------------------------------


class LatestSerializer(serializers.Serializer[Any]):
    raw = serializers.CharField(allow_blank=True)
    html = serializers.CharField(allow_blank=True)
    updatedAt = serializers.CharField()


class ReactionCountSerializer(serializers.Serializer[Any]):
    reaction = serializers.CharField()
    count = serializers.IntegerField()


class CommentDataSerializer(serializers.Serializer[Any]):
    edited = serializers.BooleanField()
    hidden = serializers.BooleanField()
    hiddenReason = serializers.CharField(allow_null=True)
    deleted = serializers.BooleanField()
    numEdits = serializers.IntegerField()
    latest = LatestSerializer()
    reactions = ReactionCountSerializer(many=True)


class CommentEventSerializer(serializers.Serializer[Any]):
    """A comment as a discussion event on huggingface.co (`type: comment`). A hidden
    comment carries its reason and no text; a deleted one, no text."""

    id = serializers.CharField()
    type = serializers.CharField()
    createdAt = serializers.CharField()
    author = HfUserSerializer()

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # `data` names a serializer's own property: the field is added here.
        fields = super().get_fields()
        fields["data"] = CommentDataSerializer()
        return fields


class ThreadSerializer(CommentEventSerializer):
    replies = CommentEventSerializer(many=True)


class NewMessageSerializer(serializers.Serializer[Any]):
    newMessage = CommentEventSerializer()


class CommentsPageSerializer(serializers.Serializer[Any]):
    comments = ThreadSerializer(many=True)
    numComments = serializers.IntegerField(help_text="Comments shown, replies included")
    numThreads = serializers.IntegerField(help_text="Top-level comments on every page")
    p = serializers.IntegerField()
    limit = serializers.IntegerField()


class CommentInputSerializer(serializers.Serializer[Any]):
    comment = serializers.CharField(
        trim_whitespace=False, allow_blank=True, help_text="Markdown, as on the site"
    )


class ReactionInputSerializer(serializers.Serializer[Any]):
    reaction = serializers.ChoiceField(choices=REACTIONS)


class ReactionStateSerializer(serializers.Serializer[Any]):
    reaction = serializers.CharField()
    reacted = serializers.BooleanField()
    count = serializers.IntegerField()


class CommentsQuerySerializer(serializers.Serializer[Any]):
    p = serializers.IntegerField(min_value=0, max_value=100_000, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=PAGE_SIZE)


def comment_event(comment: Comment, reactions: dict[str, int] | None = None) -> dict[str, Any]:
    shown = comment.is_shown
    author = comment.author
    return {
        "id": str(comment.pk),
        "type": "comment",
        "createdAt": hf_datetime(comment.created_at),
        "author": member_person(author),
        "data": {
            "edited": comment.edited_at is not None,
            "hidden": comment.is_hidden,
            "hiddenReason": comment.get_hidden_reason_display() if comment.is_hidden else None,
            "deleted": comment.is_deleted,
            "numEdits": _num_edits(comment),
            "latest": {
                "raw": comment.body if shown else "",
                "html": comment.html if shown else "",
                "updatedAt": hf_datetime(comment.edited_at or comment.created_at),
            },
            "reactions": [
                {"reaction": emoji, "count": count}
                for emoji, count in (reactions or {}).items()
                if count
            ],
        },
    }


def _num_edits(comment: Comment) -> int:
    """Edits made: the kept earlier texts (a deletion keeps one too, and is no edit)."""
    kept = getattr(comment, "num_revisions", None)
    if kept is None:
        kept = comment.revisions.count() if comment.edited_at or comment.deleted_at else 0
    return max(0, kept - (1 if comment.is_deleted else 0))


def _thread(shown: Shown) -> dict[str, Any]:
    return {
        **comment_event(shown.comment, shown.reactions),
        "replies": [comment_event(r.comment, r.reactions) for r in shown.replies],
    }


# --- views --------------------------------------------------------------------------------


def _comment(paper: Paper, comment_id: int) -> Comment:
    comment = selectors.comment_by_id(comment_id)
    if comment is None or comment.paper_id != paper.pk:
        raise exceptions.NotFound("Comment not found")
    return comment


def _refused(exc: CommentError) -> Response:
    headers = {"Retry-After": str(max(1, int(exc.wait)))} if exc.wait else {}
    return error(HTTPStatus(exc.status), str(exc), **headers)


def _post_comment(request: Request, paper_id: str, parent_id: int | None = None) -> Response:
    """A comment, or a reply to `parent_id`, as Hugging Face answers: `{"newMessage": ...}`."""
    given = CommentInputSerializer(data=request.data)
    given.is_valid(raise_exception=True)
    paper = paper_or_404(paper_id)
    parent = _comment(paper, parent_id) if parent_id is not None else None
    try:
        comment = comment_post(
            user=request_member(request),
            paper=paper,
            body=given.validated_data["comment"],
            parent=parent,
        )
    except CommentError as exc:
        return _refused(exc)
    return Response({"newMessage": comment_event(comment, {})})


class _MemberWrite(APIView):
    authentication_classes = MEMBER_AUTH
    permission_classes = [IsAuthenticated]
    throttle_classes = [AnonRateThrottle, MemberRateThrottle]


class PaperCommentApi(_MemberWrite):
    @extend_schema(
        operation_id="paper_comment",
        summary="Comment on a paper",
        description='Hugging Face\'s shape: `{"comment": "..."}` in, `newMessage` out.',
        tags=[DISCUSSIONS_TAG],
        parameters=[_paper_id],
        request=CommentInputSerializer,
        responses={HTTPStatus.OK: NewMessageSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, paper_id: str) -> Response:
        return _post_comment(request, paper_id)


class CommentReplyApi(_MemberWrite):
    @extend_schema(
        operation_id="paper_comment_reply",
        summary="Reply to a comment",
        description="Hugging Face's shape. A reply to a reply goes under the comment.",
        tags=[DISCUSSIONS_TAG],
        parameters=[_paper_id, _comment_id],
        request=CommentInputSerializer,
        responses={HTTPStatus.OK: NewMessageSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, paper_id: str, comment_id: int) -> Response:
        return _post_comment(request, paper_id, comment_id)


class CommentApi(_MemberWrite):
    @extend_schema(
        operation_id="paper_comment_edit",
        summary="Edit your comment",
        description="The earlier text is kept for the moderators; the comment shows `edited`.",
        tags=[DISCUSSIONS_TAG],
        parameters=[_paper_id, _comment_id],
        request=CommentInputSerializer,
        responses={HTTPStatus.OK: CommentEventSerializer, **WRITE_ERRORS},
    )
    def patch(self, request: Request, paper_id: str, comment_id: int) -> Response:
        given = CommentInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        comment = _comment(paper_or_404(paper_id), comment_id)
        try:
            comment = comment_edit(
                user=request_member(request), comment=comment, body=given.validated_data["comment"]
            )
        except CommentError as exc:
            return _refused(exc)
        return Response(comment_event(comment, {}))

    @extend_schema(
        operation_id="paper_comment_delete",
        summary="Delete your comment",
        description="Its replies stay, under a `deleted` placeholder.",
        tags=[DISCUSSIONS_TAG],
        parameters=[_paper_id, _comment_id],
        request=None,
        responses={HTTPStatus.NO_CONTENT: None, **WRITE_ERRORS},
    )
    def delete(self, request: Request, paper_id: str, comment_id: int) -> Response:
        comment = _comment(paper_or_404(paper_id), comment_id)
        try:
            comment_delete(user=request_member(request), comment=comment)
        except CommentError as exc:
            return _refused(exc)
        return Response(status=HTTPStatus.NO_CONTENT)


_EMOJI = " ".join(REACTIONS)


def _reaction_schema(operation_id: str, summary: str, description: str) -> Callable[..., Any]:
    """The OpenAPI description of adding or taking back a reaction (both idempotent)."""
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        description=f"{description} Idempotent.".strip(),
        tags=[DISCUSSIONS_TAG],
        parameters=[_paper_id, _comment_id],
        request=ReactionInputSerializer,
        responses={HTTPStatus.OK: ReactionStateSerializer, **WRITE_ERRORS},
    )


class CommentReactionApi(_MemberWrite):
    def _react(self, request: Request, paper_id: str, comment_id: int, *, on: bool) -> Response:
        given = ReactionInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        comment = _comment(paper_or_404(paper_id), comment_id)
        try:
            state = comment_react(
                user=request_member(request),
                comment=comment,
                emoji=given.validated_data["reaction"],
                on=on,
            )
        except CommentError as exc:
            return _refused(exc)
        return Response({"reaction": state.emoji, "reacted": state.reacted, "count": state.count})

    @_reaction_schema("paper_comment_react", "React to a comment", f"One of {_EMOJI}.")
    def post(self, request: Request, paper_id: str, comment_id: int) -> Response:
        return self._react(request, paper_id, comment_id, on=True)

    @_reaction_schema("paper_comment_unreact", "Take back a reaction", "")
    def delete(self, request: Request, paper_id: str, comment_id: int) -> Response:
        return self._react(request, paper_id, comment_id, on=False)


class PaperCommentsApi(APIView):
    authentication_classes = [OptionalBearerTokenAuthentication, SessionAuthentication]
    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle, MemberRateThrottle]

    @extend_schema(
        operation_id="paper_comments",
        summary="A paper's discussion",
        description=(
            "Top-level comments oldest first, `limit` per page (`p` from 0), each with its "
            "replies. Hidden comments come with their reason and without their text."
        ),
        tags=[DISCUSSIONS_TAG],
        parameters=[_paper_id, CommentsQuerySerializer],
        responses={
            HTTPStatus.OK: CommentsPageSerializer,
            HTTPStatus.NOT_FOUND: ErrorSerializer,
            **ERRORS,
        },
    )
    def get(self, request: Request, paper_id: str) -> Response:
        query = CommentsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page, limit = query.validated_data["p"], query.validated_data["limit"]
        paper = paper_or_404(paper_id)
        threads, total = selectors.paper_comments_page(paper, page=page + 1, size=limit)
        return Response(
            {
                "comments": [_thread(shown) for shown in threads],
                "numComments": paper.comment_count,
                "numThreads": total,
                "p": page,
                "limit": limit,
            }
        )
