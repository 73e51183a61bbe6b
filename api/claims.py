"""Claiming authorship over the API: Hugging Face's `POST /api/settings/papers/claim`."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import BearerTokenAuthentication, MemberRateThrottle, request_member
from accounts.models import User
from api.errors import WRITE_ERRORS, ErrorSerializer, error, paper_or_404
from api.hf_shapes import HfUserSerializer, member_person
from api.papers import HF_TAG
from papers import claims

HANDLE_OR_ID = r"^[\w.@+-]{1,150}$"


class ClaimInputSerializer(serializers.Serializer[Any]):
    paperId = serializers.CharField(max_length=64, help_text="The arXiv id")
    claimAuthorId = serializers.RegexField(
        r"^[0-9a-f]{24}$", help_text="The `_id` of the author entry, from the paper's `authors`"
    )
    targetUserId = serializers.RegexField(
        HANDLE_OR_ID,
        required=False,
        allow_null=True,
        help_text="Staff only: claim for this member (their `_id` or handle); approved at once",
    )


class ClaimSerializer(serializers.Serializer[Any]):
    paperId = serializers.CharField()
    claimAuthorId = serializers.CharField()
    name = serializers.CharField(help_text="The author's name as the paper lists it")
    status = serializers.ChoiceField(choices=["claimed_pending", "claimed_verified"])
    user = HfUserSerializer()


def _member(given: str) -> User | None:
    """A member by their API `_id` (24 hex digits) or their handle."""
    found = User.objects.filter(is_active=True)
    if len(given) == 24 and all(c in "0123456789abcdef" for c in given):
        return found.filter(pk=int(given, 16)).first()
    return found.filter(username=given).first()


class PaperClaimApi(APIView):
    authentication_classes = [BearerTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [MemberRateThrottle]

    @extend_schema(
        operation_id="paper_claim",
        summary="Claim authorship of a paper (Hugging Face-compatible)",
        description=(
            "Say that one of the paper's authors is you. The claim waits for a moderator "
            "(`claimed_pending`); once approved the author shows as you (`claimed_verified`). "
            "A rejected claim can be made again. Staff may claim for another member "
            "(`targetUserId`): that claim is approved at once. 409 when the author is "
            "another member's already, or you have a claim on this paper."
        ),
        tags=[HF_TAG],
        request=ClaimInputSerializer,
        responses={
            HTTPStatus.OK: ClaimSerializer,
            HTTPStatus.CONFLICT: ErrorSerializer,
            **WRITE_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        given = ClaimInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        caller = request_member(request)
        paper = paper_or_404(data["paperId"])
        place = claims.parse_author_id(data["claimAuthorId"])
        if place is None or place[0] != paper.pk:
            return error(HTTPStatus.BAD_REQUEST, "claimAuthorId: not an author of this paper.")
        target = caller
        if data.get("targetUserId"):
            found = _member(data["targetUserId"])
            if found is None:
                return error(HTTPStatus.NOT_FOUND, "targetUserId: no such member.")
            if found.pk != caller.pk and not caller.is_staff:
                return error(HTTPStatus.FORBIDDEN, "Only staff may claim for another member.")
            target = found
        try:
            claim = claims.claim_author(
                user=target,
                paper=paper,
                index=place[1],
                approved_by=caller if caller.is_staff and target.pk != caller.pk else None,
            )
        except claims.ClaimRefused as refused:
            return error(HTTPStatus(refused.status), refused.message)
        verified = claim.status == claim.Status.APPROVED
        return Response(
            {
                "paperId": paper.arxiv_id,
                "claimAuthorId": data["claimAuthorId"],
                "name": claim.author_name,
                "status": "claimed_verified" if verified else "claimed_pending",
                "user": member_person(target),
            }
        )
