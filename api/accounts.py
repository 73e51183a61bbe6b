"""The API's account endpoints: who the token (or session) belongs to."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from allauth.account.models import EmailAddress
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import BearerTokenAuthentication, request_member
from accounts.models import ApiToken
from api.errors import ErrorSerializer
from api.hf_shapes import hf_datetime

_errors = {
    HTTPStatus.UNAUTHORIZED: ErrorSerializer,
    HTTPStatus.FORBIDDEN: ErrorSerializer,
    HTTPStatus.TOO_MANY_REQUESTS: ErrorSerializer,
}


class ApiTokenSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The first characters of the token")
    created_at = serializers.DateTimeField()


class WhoAmISerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    username = serializers.CharField()
    fullname = serializers.CharField(source="public_name")
    email = serializers.EmailField(allow_blank=True)
    date_joined = serializers.DateTimeField()
    is_staff = serializers.BooleanField()
    token = ApiTokenSerializer(allow_null=True, help_text="The token used; null for a session")


class HfAccessTokenSerializer(serializers.Serializer[Any]):
    displayName = serializers.CharField()
    role = serializers.CharField()
    createdAt = serializers.CharField()


class HfAuthSerializer(serializers.Serializer[Any]):
    type = serializers.CharField()
    accessToken = HfAccessTokenSerializer(allow_null=True)


class HfWhoAmISerializer(serializers.Serializer[Any]):
    """The part of Hugging Face's whoami-v2 answer that its client reads."""

    type = serializers.CharField()
    id = serializers.CharField()
    name = serializers.CharField(help_text="Username")
    fullname = serializers.CharField()
    email = serializers.CharField(allow_blank=True)
    emailVerified = serializers.BooleanField()
    isPro = serializers.BooleanField()
    canPay = serializers.BooleanField()
    avatarUrl = serializers.CharField(allow_blank=True)
    orgs = serializers.ListField(child=serializers.DictField())
    auth = HfAuthSerializer()


class MemberApi(APIView):
    """An endpoint for a member, signed in by a token or by the site's session."""

    authentication_classes = [BearerTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]


class WhoAmIApi(MemberApi):
    @extend_schema(
        operation_id="whoami",
        summary="The member the token belongs to",
        tags=["Account"],
        responses={HTTPStatus.OK: WhoAmISerializer, **_errors},
    )
    def get(self, request: Request) -> Response:
        user = request_member(request)
        token = request.auth if isinstance(request.auth, ApiToken) else None
        data = WhoAmISerializer(user).data
        data["token"] = ApiTokenSerializer(token).data if token is not None else None
        return Response(data)


class HfWhoAmIApi(MemberApi):
    @extend_schema(
        operation_id="whoami_v2",
        summary="The member, in Hugging Face's whoami-v2 shape",
        description="What `huggingface_hub.HfApi.whoami()` and `hf auth whoami` read.",
        tags=["Hugging Face-compatible"],
        responses={HTTPStatus.OK: HfWhoAmISerializer, **_errors},
    )
    def get(self, request: Request) -> Response:
        user = request_member(request)
        token = request.auth if isinstance(request.auth, ApiToken) else None
        access: dict[str, Any] | None = None
        if token is not None:
            access = {
                "displayName": token.name,
                "role": "write",
                "createdAt": hf_datetime(token.created_at),
            }
        data = {
            "type": "user",
            "id": f"{user.pk:024x}",
            "name": user.username,
            "fullname": user.public_name,
            "email": user.email,
            "emailVerified": EmailAddress.objects.filter(user=user, verified=True).exists(),
            "isPro": False,
            "canPay": False,
            "avatarUrl": "",
            "orgs": [],
            "auth": {"type": "access_token" if token else "session", "accessToken": access},
        }
        return Response(HfWhoAmISerializer(data).data)
