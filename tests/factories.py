"""factory_boy factories for the models."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model

from papers.models import Paper, Upvote


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"member{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("pw-member-123!")


class PaperFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Paper

    arxiv_id = factory.Sequence(lambda n: f"2612.{n:05d}")  # no demo paper uses 2612.
    version = 1
    title = factory.Faker("sentence", nb_words=8)
    abstract = factory.Faker("paragraph", nb_sentences=6)
    authors = factory.LazyFunction(lambda: [{"name": "Ada Lovelace"}, {"name": "Alan Turing"}])
    published_at = factory.LazyFunction(lambda: dt.datetime(2026, 6, 11, tzinfo=dt.UTC))
    listed_on = dt.date(2026, 6, 12)


class UpvoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Upvote

    user = factory.SubFactory(UserFactory)
    paper = factory.SubFactory(PaperFactory)


class CommentFactory(factory.django.DjangoModelFactory):
    """A comment written straight to the table (the services count and announce)."""

    class Meta:
        model = "discussions.Comment"

    paper = factory.SubFactory(PaperFactory)
    author = factory.SubFactory(UserFactory)
    body = factory.Faker("sentence", nb_words=12)
    html = factory.LazyAttribute(lambda c: f"<p>{c.body}</p>")
