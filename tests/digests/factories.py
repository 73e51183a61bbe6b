"""Factories for subscriptions (confirmed unless told otherwise)."""

from __future__ import annotations

import datetime as dt

import factory

from digests.models import Subscription


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    email = factory.Sequence(lambda n: f"reader{n}@example.org")
    frequency = "daily"
    keywords = factory.LazyFunction(list)
    confirmation_sent_at = factory.LazyFunction(lambda: dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    confirmed_at = factory.LazyFunction(lambda: dt.datetime(2026, 6, 1, 1, tzinfo=dt.UTC))
