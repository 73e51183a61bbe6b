"""allauth's pages render inside the site's layout, restyled through templates/allauth/."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest

pytestmark = pytest.mark.django_db


def title(html: str) -> str:
    found = re.search(r"<title>(.*?)</title>", html, re.DOTALL)
    assert found, html
    return " ".join(found.group(1).split())


@pytest.mark.parametrize(
    ("path", "expected_title"),
    [
        ("/accounts/login/", "Sign In · Daily Papers"),
        ("/accounts/signup/", "Signup · Daily Papers"),
        ("/accounts/password/reset/", "Password Reset · Daily Papers"),
        ("/accounts/password/reset/done/", "Password Reset · Daily Papers"),
        ("/accounts/confirm-email/", "Verify Your Email Address · Daily Papers"),
        ("/accounts/confirm-email/not-a-key/", "Confirm Email Address · Daily Papers"),
    ],
)
def test_entrance_pages_use_the_site_layout(client, path, expected_title):
    response = client.get(path)

    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert title(html) == expected_title
    assert 'class="site-header"' in html
    assert "css/accounts.css" in html
    assert "Menu:" not in html  # allauth's own bare layout is not used


@pytest.mark.parametrize(
    ("path", "expected_title"),
    [
        ("/accounts/email/", "Email Addresses · Daily Papers"),
        ("/accounts/password/change/", "Change Password · Daily Papers"),
        ("/accounts/3rdparty/", "Account Connections · Daily Papers"),
        ("/accounts/logout/", "Sign Out · Daily Papers"),
    ],
)
def test_member_pages_use_the_site_layout_with_the_account_menu(
    client, alice, path, expected_title
):
    client.force_login(alice)

    response = client.get(path)

    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert title(html) == expected_title
    assert 'class="site-header"' in html
    if path != "/accounts/logout/":
        assert '<nav class="subnav" aria-label="Account">' in html
        assert f'href="{path}" aria-current="page"' in html


def test_primary_buttons_and_form_classes_come_from_the_element_overrides(client):
    html = client.get("/accounts/login/").content.decode()

    assert '<form class="form form-entrance form-login" method="post"' in html
    assert '<button class="button primary" type="submit">' in html
