"""Search by meaning in a real browser, on the demo papers: a reader's words find the paper
that never uses them, and a new member starts their "For you" feed from a topic."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from papers.embeddings import embed_stale
from tests.browser.conftest import DESKTOP, PHONE, SCREENSHOTS
from tests.browser.test_discussion import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo():
    call_command("load_demo", stdout=None)
    embed_stale()


def test_words_a_paper_never_uses_find_it(live_server, page, demo):
    page.goto(f"{live_server.url}/")
    page.get_by_role("searchbox").first.fill("speeding up inference by drafting tokens")
    page.keyboard.press("Enter")
    expect(page.locator(".card-title").first).to_be_visible()
    titles = page.locator(".card-title").all_inner_texts()[:3]
    assert any("Speculative Decoding" in title for title in titles), titles


def test_a_new_member_starts_for_you_from_a_topic(live_server, page, demo, alice):
    sign_in(page, live_server, alice)
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="For you").click()
    expect(page.locator(".subtitle")).to_contain_text("pick a few topics")
    page.locator(".starters li", has_text="robotics").locator("button").click()
    expect(page.locator(".recommended .reason").first).to_contain_text("Because you follow")
    titles = page.locator(".recommended .card-title").all_inner_texts()[:3]
    assert any("Robot" in title for title in titles), titles
    for size_name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.goto(f"{live_server.url}/for-you")
        target = SCREENSHOTS / f"for-you-{size_name}.png"
        page.screenshot(path=str(target), caret="initial")
        assert target.stat().st_size > 5_000
