from __future__ import annotations

import pytest
from django.db.models import Count, F

from accounts.models import User
from bench.generate_data import GenerateError, generate
from digests.models import Subscription
from papers.models import Paper, Upvote
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db


@pytest.mark.postgres
def test_generate_data_fills_every_table_with_exact_counters():
    said = []
    generate(papers=300, users=50, upvotes=2000, subscribers=20, say=said.append)

    assert Paper.objects.count() == 300
    assert User.objects.filter(username__startswith="gen-").count() == 50
    assert Upvote.objects.count() == 2000
    assert Subscription.objects.count() == 20
    drift = Paper.objects.annotate(rows=Count("upvotes")).exclude(upvote_count=F("rows"))
    assert not drift.exists()
    top = Paper.objects.order_by("-upvote_count").first()
    assert top.upvote_count > 2000 / 300 * 3  # skewed, not uniform
    assert "papers: 300 of 300" in said
    primaries = set(Paper.objects.values_list("primary_category", flat=True))
    assert len(primaries) > 5  # spread over arXiv's categories
    assert not Paper.objects.filter(primary_category="").exists()
    assert Paper.objects.filter(categories__includes="cs.LG").count() > 300 / 10


@pytest.mark.postgres
def test_generate_data_refuses_a_database_with_papers():
    PaperFactory()
    with pytest.raises(GenerateError, match="already has papers"):
        generate(papers=10, say=lambda text: None)
