"""A member's own pages. Sign-up, sign-in and the rest are allauth's (see templates/allauth/)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from accounts.profile_selectors import member_profile
from accounts.token_views import tokens_context
from config.params import page_number


@login_required
@require_safe
def profile(request: HttpRequest) -> HttpResponse:
    """The member's email, upvoted papers, API tokens and digest subscription."""
    profile = member_profile(user=request.user, page=page_number(request.GET.get("page")))
    context = {"profile": profile, "subscription": profile.subscription}
    context.update(tokens_context(request))  # `tokens`, and `new_token` once after a creation
    return render(request, "accounts/profile.html", context)
