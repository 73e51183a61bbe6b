"""How allauth treats our members: a neutral handle for each new member (never the part of
their email before the @), the client address of every other rate limit, and a sign-in
provider that is not configured is a 404."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest

from accounts.models import User, new_handle
from config import ratelimit


def unique_handle() -> str:
    """A neutral handle nobody has yet."""
    model = get_user_model()
    while True:
        handle = new_handle()
        if not model.objects.filter(username=handle).exists():
            return handle


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request: HttpRequest) -> str:
        # Sign-in limits count clients as every other limit does (config/ratelimit.py).
        return ratelimit.client_ip(request)

    def populate_username(self, request: HttpRequest, user: User) -> None:
        # allauth derives the username from the email address: it is public here.
        if not user.username:
            user.username = unique_handle()


class ProviderNotConfigured(SocialApp.DoesNotExist, Http404):
    """No client for this provider: allauth sees a missing app, a visitor a 404 (their
    providers' URLs exist whether or not the operator configured them)."""


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def get_app(self, request: HttpRequest, provider: Any, client_id: Any = None) -> SocialApp:
        try:
            return super().get_app(request, provider, client_id=client_id)
        except SocialApp.DoesNotExist:
            raise ProviderNotConfigured(f"Sign-in with {provider} is not set up here.") from None
