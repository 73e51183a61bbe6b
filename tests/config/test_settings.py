from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_float, env_int, env_list, env_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("raw", "value"), [("true", True), ("0", False), ("On", True)])
def test_env_bool_reads_usual_spellings(monkeypatch, raw, value):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG", default=not value) is value


def test_env_bool_refuses_maybe(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG='maybe' is not a boolean"):
        env_bool("DEBUG", default=False)


def test_env_int_and_float_name_the_variable(monkeypatch):
    monkeypatch.setenv("ARXIV_DELAY_SECONDS", "soon")
    monkeypatch.setenv("SOURCE_RETRIES", "0")
    with pytest.raises(ImproperlyConfigured, match="ARXIV_DELAY_SECONDS='soon' is not a number"):
        env_float("ARXIV_DELAY_SECONDS", 3.0, minimum=0)
    with pytest.raises(ImproperlyConfigured, match="SOURCE_RETRIES=0 must be at least 1"):
        env_int("SOURCE_RETRIES", 4, minimum=1)


def test_env_url_and_list(monkeypatch):
    monkeypatch.setenv("HF_API_URL", "huggingface.co")
    monkeypatch.setenv("ALLOWED_HOSTS", " a.example , ,b.example ")
    with pytest.raises(ImproperlyConfigured, match=r"HF_API_URL=.huggingface\.co. is not a URL"):
        env_url("HF_API_URL", "https://huggingface.co")
    assert env_list("ALLOWED_HOSTS", []) == ["a.example", "b.example"]
    monkeypatch.setenv("HF_API_URL", "http://127.0.0.1:9000/")
    assert env_url("HF_API_URL", "https://huggingface.co") == "http://127.0.0.1:9000"


def load_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Import the settings module in a fresh interpreter with exactly `env`."""
    clean = {"PATH": os.environ["PATH"], "VAR_DIR": str(tmp_path), **env}
    code = "import config.settings as s; print(s.DEBUG, s.DATABASES['default']['ENGINE'])"
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def test_embedded_defaults_need_no_variable(tmp_path):
    result = load_settings(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "django.db.backends.sqlite3"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"DEBUG": "false"}, "SECRET_KEY must be set when DEBUG is off"),
        ({"ARXIV_DELAY_SECONDS": "-1"}, "ARXIV_DELAY_SECONDS='-1' must be a number of at least 0"),
        ({"DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL='nosuchdb://x' is not usable"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL='localhost:6379' is not a URL"),
        ({"ARXIV_RSS_URL": "ftp://rss"}, "ARXIV_RSS_URL='ftp://rss' is not a URL"),
        ({"DATABASE_POOL_MODE": "statement"}, "DATABASE_POOL_MODE='statement' must be one of"),
    ],
)
def test_bad_values_fail_loudly_naming_the_variable(tmp_path, env, message):
    result = load_settings(tmp_path, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_production_settings_pass_the_deploy_check(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "VAR_DIR": str(tmp_path),
        "DEBUG": "false",
        "SECRET_KEY": "x" * 30 + "-a-long-random-production-secret-key",
        "ALLOWED_HOSTS": "papers.example.org",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("env", "shown"),
    [
        ({}, "{} False"),
        ({"DATABASE_PREPARED_STATEMENTS": "false"}, "{'prepare_threshold': None} False"),
        ({"DATABASE_POOL_MODE": "transaction"}, "{'prepare_threshold': None} True"),
        # PgBouncer 1.21+ with max_prepared_statements keeps them.
        ({"DATABASE_POOL_MODE": "transaction", "DATABASE_PREPARED_STATEMENTS": "true"}, "{} True"),
    ],
)
def test_poolers_in_transaction_mode_get_no_prepared_statements_and_no_server_cursors(
    tmp_path, env, shown
):
    env = {"DATABASE_URL": "postgres://u@db.invalid:5432/x", **env}
    clean = {"PATH": os.environ["PATH"], "VAR_DIR": str(tmp_path), **env}
    code = (
        "import config.settings as s; db = s.DATABASES['default']; "
        "print(db.get('OPTIONS', {}), db.get('DISABLE_SERVER_SIDE_CURSORS'))"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == shown


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy_without_inline_scripts(client):
    from tests.factories import PaperFactory

    PaperFactory()
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())

    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    page = response.content.decode()
    assert "<script>" not in page  # every script is a file
    assert " style=" not in page
    docs = client.get("/api/docs/").content.decode()
    assert "<script>" not in docs.replace("<script src=", "")


@pytest.mark.django_db
def test_the_page_that_shows_a_new_token_is_never_stored(client, alice):
    client.force_login(alice)
    client.post("/accounts/profile/tokens", {"name": "laptop"})

    response = client.get("/accounts/profile/")

    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
