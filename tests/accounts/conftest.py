"""Fixtures for the account tests (the shared conftest empties the cache, where rate limits
are counted, before each test)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """These tests hash hundreds of passwords; the production hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
