"""A URLconf for the token views' tests: the site's, with a stand-in profile page (first, so
it wins) that shows the tokens partial as the real profile page does."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import include, path

from accounts.token_views import token_urlpatterns, tokens_context
from config.urls import urlpatterns as site_urlpatterns


def profile(request: HttpRequest) -> HttpResponse:
    html = render_to_string(
        "accounts/includes/tokens.html", tokens_context(request), request=request
    )
    return HttpResponse(html)


accounts_patterns = ([path("profile", profile, name="profile"), *token_urlpatterns], "accounts")

urlpatterns = [path("accounts/", include(accounts_patterns)), *site_urlpatterns]
