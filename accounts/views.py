"""A member's own pages. Sign-up, sign-in and the rest are allauth's (see templates/allauth/)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from accounts.profile_selectors import member_profile
from accounts.token_views import tokens_context

MAX_PAGE = 10_000  # keeps the OFFSET within what every database accepts


def _page_number(raw: str | None) -> int:
    """The ?page= number; anything but a positive integer is the first page."""
    try:
        return min(max(int(raw or 1), 1), MAX_PAGE)
    except ValueError:
        return 1


@login_required
@require_safe
def profile(request: HttpRequest) -> HttpResponse:
    """The member's email, upvoted papers, API tokens and digest subscription."""
    profile = member_profile(user=request.user, page=_page_number(request.GET.get("page")))
    context = {"profile": profile, "subscription": profile.subscription}
    context.update(tokens_context(request))  # `tokens`, and `new_token` once after a creation
    return render(request, "accounts/profile.html", context)
