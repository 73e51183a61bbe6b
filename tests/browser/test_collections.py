"""Collections in a real browser: save from the feed, reorder, share, and who sees what."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from readinglists.models import Collection
from tests.browser.conftest import DESKTOP, PHONE, SCREENSHOTS
from tests.browser.test_discussion import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo():
    call_command("load_demo", stdout=None)


def test_save_three_papers_reorder_share_and_who_sees_it(live_server, page, demo, alice, bob):
    sign_in(page, live_server, alice)
    page.goto(f"{live_server.url}/papers/date/2026-06-12")
    cards = page.locator(".card")
    titles = []
    for i in range(3):
        card = cards.nth(i)
        titles.append(card.locator(".card-title").inner_text())
        card.locator("a.save-link").click()
        picker = card.locator(".save-picker")
        if i == 0:
            picker.locator("input[name=new_name]").fill("Reading club, week 24")
            picker.locator("button", has_text="Create and save").click()
        else:
            picker.locator("button", has_text="Reading club, week 24").click()
        expect(card.locator(".save-picker button[aria-pressed=true]")).to_have_count(1)
    collection = Collection.objects.get()
    assert collection.items.count() == 3
    url = f"{live_server.url}/collections/{alice.username}/{collection.slug}"

    page.goto(url)
    page.locator(".collection-items li").nth(2).locator(
        "button[aria-label^=Move][aria-label$=up]"
    ).click()
    expect(page.locator(".collection-items .item-title")).to_have_text(
        [titles[0], titles[2], titles[1]]
    )
    page.locator("input[name=visibility][value=unlisted]").check()
    page.locator(".collection-settings button", has_text="Save").first.click()
    expect(page.locator(".subtitle")).to_contain_text("Unlisted")
    for size_name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.goto(url)
        target = SCREENSHOTS / f"collection-{size_name}.png"
        page.screenshot(path=str(target), caret="initial")
        assert target.stat().st_size > 5_000

    page.context.clear_cookies()
    sign_in(page, live_server, bob)
    page.goto(url)
    expect(page.locator(".collection-items .item-title")).to_have_count(3)
    expect(page.locator(".item-actions")).to_have_count(0)  # bob reads, does not edit

    collection.visibility = "private"
    collection.save()
    page.context.clear_cookies()
    response = page.goto(url)
    assert response is not None
    assert response.status == 404
