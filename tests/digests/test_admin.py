"""Operators see subscriptions and deliveries, failures with their error, and can resend."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from digests.models import Delivery
from digests.services.sending import INTERRUPTED
from tests.digests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_failed_deliveries_show_their_error_and_can_be_sent_again(admin_client):
    reader = SubscriptionFactory(email="reader@example.org")
    failed = Delivery.objects.create(
        subscription=reader,
        frequency="daily",
        period="2026-06-12",
        status="failed",
        attempts=5,
        error="attempt 5: refused: 452 4.2.2 Mailbox full",
    )
    sent = Delivery.objects.create(
        subscription=reader, frequency="daily", period="2026-06-11", status="sent"
    )
    changelist = reverse("admin:digests_delivery_changelist")

    page = admin_client.get(changelist, {"status__exact": "failed"})
    assert page.status_code == HTTPStatus.OK
    assert "452 4.2.2 Mailbox full" in page.content.decode()

    admin_client.post(
        changelist, {"action": "send_again", "_selected_action": [failed.pk, sent.pk]}
    )

    failed.refresh_from_db()
    sent.refresh_from_db()
    assert (failed.status, failed.attempts, failed.error) == ("pending", 0, "")
    assert sent.status == "sent"


def test_interrupted_and_subscription_pages_render(admin_client):
    reader = SubscriptionFactory()
    delivery = Delivery.objects.create(
        subscription=reader,
        frequency="daily",
        period="2026-06-12",
        status="failed",
        error=INTERRUPTED,
    )

    assert (
        admin_client.get(reverse("admin:digests_delivery_change", args=[delivery.pk])).status_code
        == HTTPStatus.OK
    )
    listing = admin_client.get(
        reverse("admin:digests_subscription_changelist"), {"status": "active"}
    )
    assert reader.email in listing.content.decode()
    assert (
        admin_client.get(reverse("admin:digests_subscription_change", args=[reader.pk])).status_code
        == HTTPStatus.OK
    )
