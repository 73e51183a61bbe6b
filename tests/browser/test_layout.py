"""Pages hold still while they load (layout shift), and long abstracts open on demand."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from tests.browser.conftest import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CUMULATIVE_SHIFT = """() => new Promise((resolve) => {
  let total = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (!entry.hadRecentInput) total += entry.value;
  }).observe({type: "layout-shift", buffered: true});
  setTimeout(() => resolve(total), 500);
})"""


@pytest.fixture
def demo():
    call_command("load_demo", stdout=None)


@pytest.mark.parametrize(
    "path", ["/papers/search?q=agents", "/papers/date/2026-06-12", "/papers/2606.13392"]
)
def test_pages_do_not_shift_as_they_load(live_server, page, demo, path):
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}{path}")
    page.wait_for_load_state("networkidle")
    assert page.evaluate(CUMULATIVE_SHIFT) < 0.02  # Lighthouse's "good" is below 0.1


def test_a_long_abstract_opens_and_closes(live_server, page, demo):
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/papers/date/2026-06-12")
    abstract = page.locator(".card .abstract").first
    closed = abstract.bounding_box()["height"]
    abstract.locator("button.more").click()
    expect(abstract.locator("button.more")).to_have_text("Show less")
    assert abstract.bounding_box()["height"] > closed * 2
    abstract.locator("button.more").click()
    expect(abstract.locator("button.more")).to_have_attribute("aria-expanded", "false")
