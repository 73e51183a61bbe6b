"""Subscribe, confirm, manage and unsubscribe pages."""

from __future__ import annotations

from http import HTTPStatus

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from accounts.models import MemberRequest
from config import ratelimit
from digests import selectors
from digests.forms import PreferencesForm, SubscribeForm
from digests.models import Subscription
from digests.services import subscriptions


def _checked_view(request: HttpRequest) -> HttpResponse:
    """Stands for a view with no CSRF exemption, for CsrfViewMiddleware to check against."""
    return HttpResponse()


def _by_token(token: str) -> Subscription:
    subscription = selectors.subscription_by_token(token)
    if subscription is None:
        raise Http404("No subscription has this link.")
    return subscription


@csrf_exempt
@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST: ask for digests; the answer never says whether the address was
    already subscribed.

    A visitor's request needs no CSRF token: forged, it can only make us mail a confirmation
    link, which is what anyone can do by typing the address in, and double opt-in makes it
    harmless; so the form on cached public pages carries none. A member's request acts for
    their account and is checked as usual.
    """
    if request.user.is_authenticated and request.method == "POST":
        # Checked as for a view that is not exempt (this one is, for visitors).
        rejected = CsrfViewMiddleware(lambda _request: HttpResponse()).process_view(
            request, _checked_view, (), {}
        )
        if rejected is not None:
            return rejected
    if request.method == "GET":
        email = request.user.email if request.user.is_authenticated else ""
        form = SubscribeForm(initial={"email": email})
        return render(request, "digests/subscribe.html", {"subscribe_form": form})
    ip_key = f"digests:subscribe:ip:{ratelimit.client_ip(request)}"
    allowed, _wait = ratelimit.take(ip_key, settings.DIGEST_SUBSCRIBE_PER_IP_PER_HOUR, 3600)
    if not allowed:
        return render(request, "digests/rate_limited.html", status=HTTPStatus.TOO_MANY_REQUESTS)
    form = SubscribeForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "digests/subscribe.html",
            {"subscribe_form": form},
            status=HTTPStatus.BAD_REQUEST,
        )
    subscriptions.subscription_request(
        email=form.cleaned_data["email"],
        frequency=form.cleaned_data["frequency"],
        keywords=form.cleaned_data["keywords"],
        categories=form.cleaned_data["categories"],
        user=request.user if request.user.is_authenticated else None,
    )
    return render(request, "digests/subscribe_done.html", {"email": form.cleaned_data["email"]})


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page with a Confirm button (a mail scanner opening the link confirms nothing).
    POST: confirm the subscription."""
    try:
        subscription = selectors.subscription_for_confirmation(token)
    except selectors.ConfirmationLinkExpired:
        return render(
            request, "digests/confirm_invalid.html", {"expired": True}, status=HTTPStatus.GONE
        )
    except selectors.ConfirmationLinkInvalid:
        return render(
            request,
            "digests/confirm_invalid.html",
            {"expired": False},
            status=HTTPStatus.NOT_FOUND,
        )
    if request.method == "POST":
        subscriptions.subscription_confirm(subscription=subscription)
        return render(request, "digests/confirmed.html", {"subscription": subscription})
    return render(request, "digests/confirm.html", {"subscription": subscription, "token": token})


@never_cache
@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest, token: str) -> HttpResponse:
    """The subscriber's options, reached with the secret link from any mail or the profile."""
    subscription = _by_token(token)
    saved = False
    if request.method == "POST" and request.POST.get("action") == "resubscribe":
        subscriptions.subscription_resubscribe(subscription=subscription)
        form = PreferencesForm(
            initial={
                "frequency": subscription.frequency,
                "keywords": subscription.keywords,
                "categories": subscription.categories,
                "for_you": subscription.for_you,
            }
        )
        saved = True
    elif request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            subscriptions.subscription_update(
                subscription=subscription,
                frequency=form.cleaned_data["frequency"],
                keywords=form.cleaned_data["keywords"],
                categories=form.cleaned_data["categories"],
                for_you=form.cleaned_data["for_you"],
            )
            saved = True
    else:
        form = PreferencesForm(
            initial={
                "frequency": subscription.frequency,
                "keywords": subscription.keywords,
                "categories": subscription.categories,
                "for_you": subscription.for_you,
            }
        )
    status = HTTPStatus.BAD_REQUEST if form.is_bound and not form.is_valid() else HTTPStatus.OK
    return render(
        request,
        "digests/manage.html",
        {"subscription": subscription, "form": form, "saved": saved},
        status=status,
    )


@csrf_exempt  # RFC 8058: mail providers POST without cookies; the secret token authorises
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page with an Unsubscribe button, which unsubscribes nothing by itself.
    POST (one-click, RFC 8058, or the button): unsubscribe at once, no redirect."""
    subscription = selectors.subscription_to_unsubscribe(token)
    if subscription is None:
        raise Http404("This link is not valid (any more).")
    if request.method == "POST":
        subscriptions.subscription_unsubscribe(subscription=subscription)
        return render(request, "digests/unsubscribed.html", {"subscription": subscription})
    context = {"subscription": subscription, "token": token}
    return render(request, "digests/unsubscribe.html", context)


@login_required
@require_safe
def mine(request: MemberRequest) -> HttpResponse:
    """A member's way in from the profile: their manage page, or the subscribe form."""
    subscription = selectors.subscription_for_user(request.user)
    if subscription is None:
        return redirect(reverse("digests:subscribe"))
    return redirect(subscription.get_absolute_url())
