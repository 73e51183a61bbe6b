"""A discussion in a real browser: comment, reply, react, edit and delete in place, with
hostile comments shown inert."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from discussions.models import Comment
from tests.browser.conftest import DESKTOP, PHONE, SCREENSHOTS
from tests.factories import PaperFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOSTILE = (
    "<script>alert(1)</script> <img src=x onerror=alert(2)> "
    "[click me](javascript:alert(3)) $\\href{javascript:alert(4)}{x}$ "
    '&lt;b onmouseover="alert(5)"&gt; <a href="#" onclick="alert(6)">a</a>'
)


def sign_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )


def live_markup(page) -> list[str]:
    """Scripts and event handlers inside the discussion, and links that are not http(s)."""
    return page.evaluate(
        """() => {
            const found = [];
            const root = document.querySelector('#discussion');
            root.querySelectorAll('script, iframe, object, embed, img, svg').forEach(
                (el) => found.push(el.tagName));
            root.querySelectorAll('*').forEach((el) => {
                for (const attr of el.attributes) {
                    if (attr.name.startsWith('on')) found.push(el.tagName + ' ' + attr.name);
                }
            });
            root.querySelectorAll('a[href]').forEach((a) => {
                if (!/^(https?:|mailto:)/.test(a.href)) found.push('href ' + a.href);
            });
            return found;
        }"""
    )


def test_a_hostile_comment_is_stored_as_written_and_shown_inert(live_server, page, alice, bob):
    paper = PaperFactory(title="Hostile discussion")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, live_server, alice)
    page.goto(f"{live_server.url}/papers/{paper.arxiv_id}")
    page.fill("#body-new", HOSTILE)
    page.locator("#discussion form.comment-form button[type=submit]").last.click()
    expect(page.locator("#discussion .comment")).to_have_count(1)
    assert Comment.objects.get().body == HOSTILE  # stored as written

    for viewer in (alice, None):
        page.context.clear_cookies()
        if viewer is not None:
            sign_in(page, live_server, viewer)
        page.goto(f"{live_server.url}/papers/{paper.arxiv_id}")
        page.wait_for_load_state("networkidle")
        text = page.locator("#discussion .comment-body").inner_text()
        assert "<script>alert(1)</script>" in text
        assert "<img src=x onerror=alert(2)>" in text
        assert live_markup(page) == []
        page.locator("#discussion .comment-body").hover()
    assert dialogs == []


def test_an_over_long_comment_gets_a_clear_error_and_the_draft_stays(live_server, page, alice):
    paper = PaperFactory()
    sign_in(page, live_server, alice)
    page.goto(f"{live_server.url}/papers/{paper.arxiv_id}")
    page.locator("#body-new").evaluate("(el) => el.removeAttribute('maxlength')")
    body = "x" * 100_000
    page.fill("#body-new", body)
    page.locator("#discussion form.comment-form button[type=submit]").last.click()
    expect(page.locator("#error-new")).to_contain_text("at most 10,000 characters")
    assert page.locator("#body-new").input_value() == body
    assert not Comment.objects.exists()


def test_reply_react_edit_and_delete_in_place(live_server, page, alice, bob):
    paper = PaperFactory(title="A paper worth discussing")
    sign_in(page, live_server, alice)
    page.goto(f"{live_server.url}/papers/{paper.arxiv_id}")
    page.fill("#body-new", "Does it scale past **1M** tokens, @bob?")
    page.locator("#discussion form.comment-form button[type=submit]").last.click()
    expect(page.locator("#discussion .comment")).to_have_count(1)
    expect(page.locator("#discussion a.mention")).to_have_text("@bob")
    question = Comment.objects.get()

    page.context.clear_cookies()
    sign_in(page, live_server, bob)
    page.goto(f"{live_server.url}/papers/{paper.arxiv_id}")
    own = page.locator(f"#comment-{question.pk} .own-actions")
    expect(own).to_be_hidden()  # not bob's to edit
    page.locator(f"#comment-{question.pk} a", has_text="Reply").click()
    page.fill(f"#body-{question.pk}-reply", "It does, see section 4.")
    page.locator(f"#slot-{question.pk} button[type=submit]").click()
    expect(page.locator("#discussion .reply")).to_have_count(1)
    page.locator(f"#comment-{question.pk} a", has_text="React").click()
    page.locator(f"#slot-{question.pk} button.reaction[value='🔥']").click()
    expect(page.locator(f"#comment-{question.pk} button.reaction[value='🔥']")).to_have_attribute(
        "aria-pressed", "true"
    )

    page.context.clear_cookies()
    sign_in(page, live_server, alice)
    page.goto(f"{live_server.url}/papers/{paper.arxiv_id}")
    page.locator(f"#comment-{question.pk} .own-actions a", has_text="Edit").click()
    page.fill(f"#body-{question.pk}-edit", "Does it scale past 10M tokens?")
    page.locator(f"#comment-{question.pk} button", has_text="Save").click()
    expect(page.locator(f"#comment-{question.pk} .comment-body")).to_have_text(
        "Does it scale past 10M tokens?"
    )
    expect(page.locator(f"#comment-{question.pk} .edited")).to_be_visible()
    for size_name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.locator("#discussion").scroll_into_view_if_needed()
        target = SCREENSHOTS / f"discussion-{size_name}.png"
        page.locator("#discussion").screenshot(path=str(target), caret="initial")
        assert target.stat().st_size > 5_000
    page.set_viewport_size(DESKTOP)
    page.locator(f"#comment-{question.pk} .own-actions a", has_text="Delete").click()
    page.locator(f"#slot-{question.pk} button", has_text="Delete").click()
    expect(page.locator("#discussion .comment-removed")).to_have_text("This comment was deleted.")
    expect(page.locator("#discussion .reply .comment-body")).to_have_text("It does, see section 4.")
