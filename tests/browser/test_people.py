"""People in a real browser: an author claims a paper, a moderator approves it, a reader
follows the author and finds their paper in the Following feed; the profile screenshots."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from discussions.services import comment_post
from papers.claims import decide_claim
from papers.models import AuthorClaim, Paper
from readinglists.services import collection_create, item_add
from tests.browser.conftest import DESKTOP, PHONE, SCREENSHOTS
from tests.browser.test_discussion import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAPER = "2606.13106"  # the demo's "Demystifying Hidden-State Recurrence"


@pytest.fixture
def demo():
    call_command("load_demo", stdout=None)


def test_an_author_claims_a_paper_a_reader_follows_them(live_server, page, demo, alice, bob, staff):
    alice.display_name = "Yuxuan Fan"
    alice.bio = "Latent reasoning and reinforcement learning."
    alice.save()
    sign_in(page, live_server, alice)
    page.goto(f"{live_server.url}/papers/{PAPER}")
    page.get_by_role("link", name="Are you an author?").click()
    page.get_by_label("Yuxuan Fan").check()
    page.get_by_role("button", name="Claim").click()
    expect(page.locator(".message")).to_contain_text("waits for a moderator")

    decide_claim(claim=AuthorClaim.objects.get(), approve=True, reason="", by=staff)
    paper = Paper.objects.get(arxiv_id=PAPER)
    comment_post(user=alice, paper=paper, body="Happy to answer questions on the SWITCH tokens.")
    reading = collection_create(owner=alice, name="Latent reasoning", visibility="public")
    for other in Paper.objects.exclude(pk=paper.pk).order_by("-source_upvotes")[:3]:
        item_add(user=alice, collection=reading, paper=other)

    page.context.clear_cookies()
    sign_in(page, live_server, bob)
    page.goto(f"{live_server.url}/papers/{PAPER}")
    page.locator(".author-list a.verified").click()  # the verified mark leads to her page
    expect(page.locator("h1")).to_contain_text("Yuxuan Fan")
    page.locator(".follow-form button").click()
    expect(page.locator(".follow-form button")).to_have_attribute("aria-pressed", "true")

    page.get_by_role("link", name="Following", exact=True).click()
    expect(page.locator(".card-title").first).to_contain_text("Demystifying Hidden-State")

    for size_name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.goto(f"{live_server.url}/u/{alice.username}")
        target = SCREENSHOTS / f"profile-{size_name}.png"
        page.screenshot(path=str(target), caret="initial")
        assert target.stat().st_size > 5_000
