"""A member's own account pages beyond allauth's (sign-up, sign-in, e-mail, password and
two-factor are allauth's, see templates/allauth/): their API tokens, created (the plaintext
is shown once) and revoked from the profile page (people/views.py).

The profile view shows the partial `accounts/includes/tokens.html` with
`tokens_context(request)`: the member's tokens and, right after a creation, the new
token's plaintext. The plaintext travels to that one page view in the session (server
side; never in a cookie or a URL) and is removed from it when shown.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.forms import TokenForm
from accounts.models import MemberRequest
from accounts.selectors import api_tokens_for
from accounts.services import ApiTokenError, api_token_create, api_token_revoke

NEW_TOKEN_SESSION_KEY = "accounts:new-api-token"  # noqa: S105 (a key name)


def tokens_context(request: MemberRequest) -> dict[str, Any]:
    """The partial's context: `tokens`, and `new_token` once after a creation."""
    return {
        "tokens": api_tokens_for(request.user),
        "new_token": request.session.pop(NEW_TOKEN_SESSION_KEY, None),
    }


@login_required
@require_POST
def token_create(request: MemberRequest) -> HttpResponse:
    """Create a named API token and show it once on the profile page."""
    form = TokenForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the token a name of at most 100 characters.")
        return redirect("people:profile")
    try:
        created = api_token_create(user=request.user, name=form.cleaned_data["name"])
    except ApiTokenError as exc:
        messages.error(request, str(exc))
        return redirect("people:profile")
    request.session[NEW_TOKEN_SESSION_KEY] = created.plaintext
    messages.success(request, f"Token “{created.token.name}” created: copy it now.")
    return redirect("people:profile")


@login_required
@require_POST
def token_revoke(request: MemberRequest, token_id: int) -> HttpResponse:
    """Revoke one of the member's own tokens."""
    if not api_token_revoke(user=request.user, token_id=token_id):
        raise Http404("No such token")
    messages.success(request, "Token revoked: it no longer works.")
    return redirect("people:profile")
