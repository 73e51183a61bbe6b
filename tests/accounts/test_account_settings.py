"""The accounts settings as read from the environment, each in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

HF_APP = {
    "provider_id": "huggingface",
    "name": "Hugging Face",
    "client_id": "hf-id",
    "secret": "hf-secret",
    "settings": {
        "server_url": "https://huggingface.co",
        "scope": ["openid", "profile", "email"],
        "oauth_pkce_enabled": True,
    },
}


def read_settings(tmp_path: Path, *names: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Import config.settings with exactly `env` and print the named settings as JSON."""
    clean = {"PATH": os.environ["PATH"], "VAR_DIR": str(tmp_path), **env}
    code = (
        "import json, config.settings as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {list(names)!r}}}, default=sorted))"
    )
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def settings_of(tmp_path: Path, *names: str, **env: str) -> dict:
    result = read_settings(tmp_path, *names, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_defaults_sign_in_by_email_with_mandatory_confirmation(tmp_path):
    found = settings_of(
        tmp_path,
        "ACCOUNT_EMAIL_VERIFICATION",
        "ACCOUNT_LOGIN_METHODS",
        "ACCOUNT_SIGNUP_FIELDS",
        "ACCOUNT_LOGOUT_ON_GET",
        "ACCOUNT_DEFAULT_HTTP_PROTOCOL",
        "SOCIALACCOUNT_PROVIDERS",
        "ALLAUTH_TRUSTED_PROXY_COUNT",
    )

    assert found == {
        "ACCOUNT_EMAIL_VERIFICATION": "mandatory",
        "ACCOUNT_LOGIN_METHODS": ["email"],
        "ACCOUNT_SIGNUP_FIELDS": ["email*", "password1*", "password2*"],
        "ACCOUNT_LOGOUT_ON_GET": False,
        "ACCOUNT_DEFAULT_HTTP_PROTOCOL": "http",
        "SOCIALACCOUNT_PROVIDERS": {},
        "ALLAUTH_TRUSTED_PROXY_COUNT": 0,
    }


def test_production_links_in_mail_use_https(tmp_path):
    env = {"DEBUG": "false", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "papers.example.org"}

    found = settings_of(tmp_path, "ACCOUNT_DEFAULT_HTTP_PROTOCOL", **env)

    assert found == {"ACCOUNT_DEFAULT_HTTP_PROTOCOL": "https"}


@pytest.mark.parametrize(("raw", "value"), [("none", "none"), ("Optional", "optional")])
def test_email_verification_can_be_relaxed(tmp_path, raw, value):
    found = settings_of(tmp_path, "ACCOUNT_EMAIL_VERIFICATION", ACCOUNT_EMAIL_VERIFICATION=raw)

    assert found == {"ACCOUNT_EMAIL_VERIFICATION": value}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"ACCOUNT_EMAIL_VERIFICATION": "sometimes"},
            "ACCOUNT_EMAIL_VERIFICATION='sometimes' is not one of: mandatory, optional, none",
        ),
        ({"GITHUB_CLIENT_ID": "gh-id"}, "GITHUB_CLIENT_SECRET must be set when GITHUB_CLIENT_ID"),
        (
            {"HF_OAUTH_CLIENT_SECRET": "hf-secret"},
            "HF_OAUTH_CLIENT_ID must be set when HF_OAUTH_CLIENT_SECRET",
        ),
        ({"TRUSTED_PROXY_COUNT": "-1"}, "TRUSTED_PROXY_COUNT=-1 must be at least 0"),
    ],
)
def test_bad_account_settings_fail_loudly_naming_the_variable(tmp_path, env, message):
    result = read_settings(tmp_path, "ACCOUNT_EMAIL_VERIFICATION", **env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_github_sign_in_is_configured_from_its_client_id_and_secret(tmp_path):
    found = settings_of(
        tmp_path,
        "SOCIALACCOUNT_PROVIDERS",
        GITHUB_CLIENT_ID="gh-id",
        GITHUB_CLIENT_SECRET="gh-secret",
    )

    assert found["SOCIALACCOUNT_PROVIDERS"] == {
        "github": {
            "APPS": [{"client_id": "gh-id", "secret": "gh-secret", "key": ""}],
            "SCOPE": ["read:user", "user:email"],
        }
    }


def test_hugging_face_sign_in_is_an_openid_connect_app(tmp_path):
    found = settings_of(
        tmp_path,
        "SOCIALACCOUNT_PROVIDERS",
        HF_OAUTH_CLIENT_ID="hf-id",
        HF_OAUTH_CLIENT_SECRET="hf-secret",
    )

    assert found["SOCIALACCOUNT_PROVIDERS"] == {"openid_connect": {"APPS": [HF_APP]}}
