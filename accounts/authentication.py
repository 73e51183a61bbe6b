"""API authentication with personal tokens (`Authorization: Bearer <token>`, the Hugging
Face convention) and the API's rate limits: per client address for anonymous calls, per
token for authenticated ones."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import ApiToken, User
from accounts.selectors import api_token_by_plaintext
from accounts.services import api_token_record_use
from config import ratelimit

MAX_TOKEN_LENGTH = 200


def request_member(request: Request) -> User:
    """The member behind an API request that IsAuthenticated let through."""
    return cast(User, request.user)


class BearerTokenAuthentication(BaseAuthentication):
    """A personal API token; a wrong or revoked token is refused with 401."""

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        words = get_authorization_header(request).split()
        if not words or words[0].lower() != b"bearer":
            return None
        if len(words) != 2:
            raise AuthenticationFailed("Send the token as `Authorization: Bearer <token>`.")
        try:
            plaintext = words[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("Invalid token.") from None
        token = api_token_by_plaintext(plaintext) if len(plaintext) <= MAX_TOKEN_LENGTH else None
        if token is None:
            raise AuthenticationFailed("Invalid or revoked token.")
        api_token_record_use(token=token, now=timezone.now())
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 with a challenge, not 403, when credentials are missing.
        return 'Bearer realm="api"'


class OptionalBearerTokenAuthentication(BearerTokenAuthentication):
    """For public reads: a token that is not ours is ignored, not refused.

    huggingface_hub sends the token saved by `hf auth login` (a huggingface.co token) to
    whatever endpoint it is pointed at; refusing it would break unchanged HF tools.
    """

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            return None


class _SettingsRateThrottle(SimpleRateThrottle):
    """A rate read from settings on every request, so tests and operators can change it.

    Counted in fixed windows that start at a client's first call, with each process
    leasing part of the budget from Redis (config/ratelimit.py: exact, and a round trip per
    lease rather than per call), not in DRF's sliding log, which reads and writes the list
    of every call's time on each request.
    """

    setting = ""

    def get_rate(self) -> str:
        return str(getattr(settings, self.setting))

    def allow_request(self, request: Request, view: Any) -> bool:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        assert self.num_requests is not None  # a rate was set
        assert self.duration is not None
        allowed, self.seconds_left = ratelimit.take(self.key, self.num_requests, self.duration)
        return allowed

    def wait(self) -> float:
        return self.seconds_left


class AnonRateThrottle(_SettingsRateThrottle):
    """Anonymous calls: API_THROTTLE_ANON per client address."""

    scope = "anon"
    setting = "API_THROTTLE_ANON"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class MemberRateThrottle(_SettingsRateThrottle):
    """Authenticated calls: API_THROTTLE_USER per member, whatever token or session they
    use (more tokens buy no more calls)."""

    scope = "user"
    setting = "API_THROTTLE_USER"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return member_rate_key(self.scope, request.user.pk)


class VoteRateThrottle(MemberRateThrottle):
    """Votes: VOTE_THROTTLE per member, counted with the site's vote buttons."""

    scope = "votes"
    setting = "VOTE_THROTTLE"


def member_rate_key(scope: str, member_id: int) -> str:
    """The key a member's calls of one kind are counted under (the API and the site)."""
    return f"throttle_{scope}_member-{member_id}"


def vote_allowed(member_id: int) -> tuple[bool, float]:
    """Count one vote by the member on the site (the same budget as the API's votes)."""
    requests, seconds = VoteRateThrottle().parse_rate(settings.VOTE_THROTTLE)
    assert requests is not None  # the setting is always a rate
    assert seconds is not None
    return ratelimit.take(member_rate_key("votes", member_id), requests, seconds)


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """The token scheme in the OpenAPI document."""

    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token, created on your profile page.",
        }


class OptionalBearerTokenScheme(OpenApiAuthenticationExtension):
    """The same scheme for public reads (which also list "no authentication"); the
    definition itself comes from BearerTokenScheme, so it is not registered twice."""

    target_class = OptionalBearerTokenAuthentication
    name: list[str] = []

    def get_security_requirement(self, auto_schema: Any) -> dict[str, list[str]]:
        return {BearerTokenScheme.name: []}

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, str]]:
        return []
