"""docker compose cannot run here: these tests read docker-compose.yml, the Dockerfile,
.env.example and the Procfile, and check them against the settings module."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ("migrate", "web", "worker", "beat")
LONG_RUNNING = ("web", "worker", "beat")
# Read by docker compose itself (interpolation, gunicorn, celery), not by the app.
COMPOSE_ONLY = {"POSTGRES_PASSWORD", "WEB_CONCURRENCY", "WORKER_CONCURRENCY", "CACHE_MAXMEMORY"}
_INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")

# Records the variables read from config/settings.py and config/env.py (not by libraries).
_RECORD_READS = """
import json, os, sys
read = set()
def note(key):
    caller = sys._getframe(2).f_code.co_filename.replace(os.sep, "/")
    if caller.endswith(("config/settings.py", "config/env.py")):
        read.add(key)
class Recording(dict):
    def get(self, key, default=None):
        note(key)
        return super().get(key, default)
    def __getitem__(self, key):
        note(key)
        return super().__getitem__(key)
    def __contains__(self, key):
        note(key)
        return super().__contains__(key)
environ = Recording(os.environ)
os.environ = environ
import config.settings as s
print(json.dumps(sorted(read)))
"""

_SHOW_SETTINGS = """
import json
import config.settings as s
print(json.dumps({
    "DEBUG": s.DEBUG,
    "DB": {k: s.DATABASES["default"][k] for k in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST")},
    "CACHE": s.CACHES["default"],
    "BROKER": s.CELERY_BROKER_URL,
    "EAGER": s.CELERY_TASK_ALWAYS_EAGER,
    "EMAIL": [s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT],
    "SITE_URL": s.SITE_URL,
    "ALLOWED_HOSTS": s.ALLOWED_HOSTS,
    "VAR_DIR": str(s.VAR_DIR),
    "BEAT_FILE": s.CELERY_BEAT_SCHEDULE_FILENAME,
    "SSL_REDIRECT": s.SECURE_SSL_REDIRECT,
}))
"""


def _run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def settings_variables(tmp_path_factory) -> set[str]:
    """Every environment variable the settings module reads (recorded while it loads)."""
    env = {"PATH": os.environ["PATH"], "VAR_DIR": str(tmp_path_factory.mktemp("var"))}
    result = _run(_RECORD_READS, env)
    assert result.returncode == 0, result.stderr
    names = set(json.loads(result.stdout.strip().splitlines()[-1]))
    return {n for n in names if n.isupper() and n != "DJANGO_SETTINGS_MODULE"}


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}, given .env values `env`."""

    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if env.get(name):
            return env[name]
        if op in (":-", "-"):
            return arg
        assert op not in (":?", "?"), f"{name} is required: {arg}"
        return ""

    return _INTERPOLATION.sub(substitute, value)


def environment(service: str, dotenv: dict[str, str]) -> dict[str, str]:
    return {k: interpolate(str(v), dotenv) for k, v in SERVICES[service]["environment"].items()}


def command(service: str) -> list[str]:
    raw = SERVICES[service]["command"]
    return shlex.split(raw) if isinstance(raw, str) else [str(part) for part in raw]


def env_example() -> dict[str, str]:
    found = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^#? ?([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            found[match[1]] = match[2]
    return found


def test_the_stack_has_its_services():
    assert set(SERVICES) == {
        "postgres",
        "redis",
        "cache",
        "migrate",
        "web",
        "proxy",
        "worker",
        "beat",
        "mailpit",
    }
    for name in APP_SERVICES:
        assert SERVICES[name]["build"] == "."
        assert SERVICES[name]["image"] == SERVICES["web"]["image"]  # one image


def test_postgres_and_redis_have_healthchecks_and_volumes():
    for name in ("postgres", "redis"):
        assert SERVICES[name]["healthcheck"]["test"]
        volume = SERVICES[name]["volumes"][0].split(":")[0]
        assert volume in COMPOSE["volumes"]
    assert "pg_isready" in " ".join(SERVICES["postgres"]["healthcheck"]["test"])
    assert SERVICES["postgres"]["volumes"][0].endswith(":/var/lib/postgresql/data")


def test_migrations_run_once_before_web_worker_and_beat():
    assert command("migrate")[-3:] == ["manage.py", "migrate", "--no-input"]
    assert SERVICES["migrate"]["restart"] == "no"
    assert SERVICES["migrate"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    for name in LONG_RUNNING:
        assert SERVICES[name]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
            "cache": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }
        assert "migrate" not in " ".join(command(name))


def test_web_worker_and_beat_commands():
    web = command("web")
    assert web[:2] == ["gunicorn", "config.wsgi:application"]
    assert "--bind=0.0.0.0:8000" in web
    assert SERVICES["proxy"]["ports"] == ["8000:8000"]
    assert (ROOT / "config" / "wsgi.py").exists()
    assert "/healthz" in " ".join(SERVICES["web"]["healthcheck"]["test"])
    assert command("worker")[:3] == ["celery", "--app=config", "worker"]
    assert command("beat")[:3] == ["celery", "--app=config", "beat"]
    assert (ROOT / "config" / "celery.py").exists()
    assert "127.0.0.1:8025:8025" in SERVICES["mailpit"]["ports"]
    assert SERVICES["mailpit"]["image"].startswith("axllent/mailpit")


def test_every_variable_the_services_set_is_a_setting(settings_variables):
    for name in APP_SERVICES:
        assert set(SERVICES[name]["environment"]) <= settings_variables
    used = set(_INTERPOLATION.findall((ROOT / "docker-compose.yml").read_text()))
    names = {match[0] for match in used}
    assert names <= settings_variables | COMPOSE_ONLY


def test_env_example_lists_every_setting_and_nothing_else(settings_variables):
    listed = set(env_example())
    assert settings_variables - listed == set(), "missing from .env.example"
    assert listed - settings_variables - COMPOSE_ONLY == set(), "not read by the settings"
    assert env_example()["SECRET_KEY"] == ""  # to be filled in, never a shared default


def test_the_services_environment_configures_the_settings_for_the_stack(tmp_path):
    dotenv = {"SECRET_KEY": "a-long-random-secret-for-this-test-only-0123456789abcdef"}
    env = environment("web", dotenv)
    for name in LONG_RUNNING:
        assert environment(name, dotenv) == env  # web, worker and beat agree
    env |= {"PATH": os.environ["PATH"], "VAR_DIR": str(tmp_path)}

    result = _run(_SHOW_SETTINGS, env)

    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    postgres = SERVICES["postgres"]["environment"]
    assert shown["DEBUG"] is False
    assert shown["DB"]["ENGINE"] == "django.db.backends.postgresql"
    assert shown["DB"]["HOST"] == "postgres"
    assert shown["DB"]["NAME"] == postgres["POSTGRES_DB"]
    assert shown["DB"]["USER"] == postgres["POSTGRES_USER"]
    assert shown["DB"]["PASSWORD"] == interpolate(postgres["POSTGRES_PASSWORD"], dotenv)
    assert urlsplit(shown["CACHE"]["LOCATION"]).hostname == "cache"
    assert urlsplit(shown["BROKER"]).hostname == "redis"
    assert shown["EAGER"] is False
    assert shown["EMAIL"] == ["django.core.mail.backends.smtp.EmailBackend", "mailpit", 1025]
    assert shown["SSL_REDIRECT"] is False  # plain HTTP on localhost
    assert urlsplit(shown["SITE_URL"]).hostname in shown["ALLOWED_HOSTS"]
    assert "127.0.0.1" in shown["ALLOWED_HOSTS"]  # the healthcheck's host


def test_a_missing_secret_key_stops_compose_with_a_message():
    with pytest.raises(AssertionError, match="SECRET_KEY is required"):
        environment("web", {})


def test_beat_keeps_its_schedule_on_the_writable_volume(tmp_path):
    env = environment("beat", {"SECRET_KEY": "x" * 50})
    [volume] = SERVICES["beat"]["volumes"]
    name, path = volume.split(":")
    assert name in COMPOSE["volumes"]
    assert env["VAR_DIR"] == path
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"VAR_DIR={path}" in dockerfile
    assert 'chown app:app "$VAR_DIR"' in dockerfile


def test_the_cache_is_a_bounded_redis_apart_from_the_brokers_which_never_evicts():
    cache = command("cache")
    broker = command("redis")
    dotenv = {"SECRET_KEY": "x" * 50}
    env = environment("web", dotenv)

    assert interpolate(cache[cache.index("--maxmemory") + 1], dotenv) == "256mb"
    assert cache[cache.index("--maxmemory-policy") + 1] == "allkeys-lru"
    assert broker[broker.index("--maxmemory-policy") + 1] == "noeviction"
    assert urlsplit(env["CACHE_URL"]).hostname == "cache"
    assert urlsplit(env["REDIS_URL"]).hostname == "redis"
    assert SERVICES["cache"]["healthcheck"]["test"]
    assert "cache" in SERVICES["web"]["depends_on"]


def test_mailpits_web_ui_is_published_on_this_machine_only():
    assert SERVICES["mailpit"]["ports"] == ["127.0.0.1:8025:8025"]


def test_the_image_runs_with_debug_off_unless_told_otherwise():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ENV DEBUG=false\b", dockerfile, re.M)
    assert SERVICES["web"]["environment"]["DEBUG"] == "false"


def test_the_dockerfile_is_slim_non_root_and_collects_static_files():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.\d+-slim", dockerfile, re.M)
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users
    assert users[-1] not in ("root", "0")
    assert re.search(r"^RUN .*manage\.py collectstatic --no-input", dockerfile, re.M)
    assert "requirements.lock" in dockerfile
    cmd = re.search(r"^CMD (.+)$", dockerfile, re.M)[1]
    assert json.loads(cmd)[:2] == command("web")[:2]
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".git", ".env", "var"} <= set(ignored)


def test_the_procfile_runs_the_same_worker_and_beat():
    processes = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert set(processes) == {"web", "worker", "beat"}
    assert "manage.py runserver" in processes["web"]
    assert "celery --app=config worker" in processes["worker"]
    assert "celery --app=config beat" in processes["beat"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^stack: ", makefile, re.M)
    assert "< Procfile" in makefile


def test_every_process_shares_its_metrics_and_migrate_empties_them(tmp_path):
    """prometheus_client's multiprocess mode: web, worker and beat write to one folder on
    the shared volume; `migrate` (before they start) empties the last run's files. The
    command is run here as compose runs it (`$$` is compose's escaped `$`)."""
    for name in APP_SERVICES:
        assert SERVICES[name]["environment"]["PROMETHEUS_MULTIPROC_DIR"] == "/app/var/metrics"
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_1.db").write_bytes(b"old")
    argv = [part.replace("$$", "$") for part in command("migrate")]
    assert argv[-4:] == ["python", "manage.py", "migrate", "--no-input"]
    shown = subprocess.run(  # noqa: S603  (the compose file's own command)
        [*argv[:-4], "echo", "migrated"],
        env={"PROMETHEUS_MULTIPROC_DIR": str(folder), "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == "migrated"
    assert not folder.exists()


def test_web_and_worker_scale_out_with_nothing_else():
    """`docker compose up --scale web=4 --scale worker=4`: no service has a fixed name, no
    web or worker container a port on this machine (a second would fail to bind it); one
    proxy owns the site's port and passes each request to one of the web containers,
    looking their addresses up again as they come and go."""
    for name, service in SERVICES.items():
        assert "container_name" not in service, name
    for name in ("web", "worker"):
        assert "ports" not in SERVICES[name]
        assert "hostname" not in SERVICES[name]
    proxy = SERVICES["proxy"]
    assert proxy["image"].startswith("nginx:")
    assert proxy["depends_on"] == {"web": {"condition": "service_healthy"}}
    [mount] = proxy["volumes"]
    source, target, mode = mount.split(":")
    assert (target, mode) == ("/etc/nginx/conf.d/default.conf", "ro")
    conf = (ROOT / source).read_text()
    assert re.search(r"^resolver 127\.0\.0\.11 valid=\d+s", conf, re.M)  # Docker's DNS
    assert "set $web http://web:8000;" in conf  # a variable: looked up as it goes
    assert "proxy_pass $web;" in conf
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in conf
    assert "proxy_set_header Host $http_host;" in conf
    assert re.search(r"^\s*listen 8000;", conf, re.M)
    # Behind it, the client's address for rate limits is the proxy's entry in the header.
    assert environment("web", {"SECRET_KEY": "x" * 50})["TRUSTED_PROXY_COUNT"] == "1"
