from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.management import call_command
from playwright.sync_api import expect

from papers.models import Paper
from tests.browser.conftest import DESKTOP, PHONE, SCREENSHOTS
from tests.factories import PaperFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOSTILE = "<script>alert(1)</script> and <img src=x onerror=alert(1)>"


@pytest.fixture
def demo():
    call_command("load_demo", stdout=None)


def confirmation_link(text: str) -> str:
    match = re.search(r"https?://\S+/accounts/confirm-email/\S+/", text)
    assert match, text
    return match.group(0)


def test_member_signs_up_confirms_logs_in_upvotes_searches_reads_and_logs_out(
    live_server, page, demo
):
    page.goto(f"{live_server.url}/accounts/signup/")
    page.fill("input[name=email]", "reader@example.org")
    page.fill("input[name=password1]", "a-long-passphrase-42")
    if page.locator("input[name=password2]").count():
        page.fill("input[name=password2]", "a-long-passphrase-42")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()

    assert len(mail.outbox) == 1
    link = confirmation_link(mail.outbox[0].body)
    page.goto(
        link.replace("http://testserver", live_server.url).replace(
            "https://testserver", live_server.url
        )
    )
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()

    page.goto(f"{live_server.url}/accounts/login/")
    if page.locator("input[name=login]").count():  # not logged in by the confirmation
        page.fill("input[name=login]", "reader@example.org")
        page.fill("input[name=password]", "a-long-passphrase-42")
        page.locator("form button[type=submit]").last.click()
        page.wait_for_url(re.compile(r".*/$"))

    page.goto(f"{live_server.url}/")
    page.evaluate("window.noReload = true")
    first = page.locator(".card").first
    button = first.locator(".upvote-button")
    before = int(button.locator(".count").inner_text())
    assert button.get_attribute("aria-pressed") == "false"
    button.click()
    expect(page.locator(".card").first.locator(".upvote-button")).to_have_attribute(
        "aria-pressed", "true"
    )
    updated = page.locator(".card").first.locator(".upvote-button")
    assert int(updated.locator(".count").inner_text()) == before + 1
    assert page.evaluate("window.noReload") is True  # swapped in place, no navigation

    page.reload()
    again = page.locator(".card").first.locator(".upvote-button")
    assert again.get_attribute("aria-pressed") == "true"
    assert int(again.locator(".count").inner_text()) == before + 1

    page.fill("#site-search", "sparse attention")
    page.press("#site-search", "Enter")
    page.wait_for_url(re.compile(r".*/papers/search\?q=sparse"))
    assert page.locator(".card").count() >= 1
    assert page.locator("mark").count() >= 1

    page.locator(".card .card-title a").first.click()
    page.wait_for_url(re.compile(r".*/papers/\d{4}\.\d{4,5}$"))
    assert page.locator("h1").inner_text()
    assert page.locator("a", has_text="PDF").count() == 1

    page.locator("form[action='/accounts/logout/'] button").click()
    page.wait_for_load_state()
    assert page.locator("a", has_text="Log in").count() >= 1


def test_hostile_titles_show_as_text_and_open_no_dialog(live_server, page):
    paper = PaperFactory(title=HOSTILE, abstract=HOSTILE)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    for path in ["/", f"/papers/{paper.arxiv_id}", "/papers/search?q=alert"]:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        assert HOSTILE in page.locator("body").inner_text()

    assert dialogs == []


def test_anonymous_upvote_goes_to_login(live_server, page, demo):
    page.goto(f"{live_server.url}/")
    page.locator(".card .upvote-button").first.click()
    page.wait_for_url(re.compile(r".*/accounts/login/\?next=.*"))
    assert Paper.objects.filter(upvote_count__gt=0).count() == 0


def test_screenshots_of_feed_paper_and_search(live_server, page, demo):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shots = {
        "feed": "/papers/date/2026-06-12",
        "paper": "/papers/2606.13392",
        "search": "/papers/search?q=agents",
    }
    for name, path in shots.items():
        for size_name, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("networkidle")
            target = SCREENSHOTS / f"{name}-{size_name}.png"
            page.screenshot(path=str(target), full_page=False)
            assert target.stat().st_size > 10_000


def test_the_api_docs_render_under_the_content_security_policy(live_server, page):
    page.goto(f"{live_server.url}/api/docs/")

    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    expect(page.get_by_text("/api/daily_papers").first).to_be_visible()
