"""How allauth treats our members: a sign-in provider that is not configured is a 404."""

from __future__ import annotations

from typing import Any

from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.http import Http404, HttpRequest


class ProviderNotConfigured(SocialApp.DoesNotExist, Http404):
    """No client for this provider: allauth sees a missing app, a visitor a 404 (their
    providers' URLs exist whether or not the operator configured them)."""


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def get_app(self, request: HttpRequest, provider: Any, client_id: Any = None) -> SocialApp:
        try:
            return super().get_app(request, provider, client_id=client_id)
        except SocialApp.DoesNotExist:
            raise ProviderNotConfigured(f"Sign-in with {provider} is not set up here.") from None
