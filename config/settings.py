"""Django settings, read from the environment with defaults for the embedded mode.

Every variable is listed in README.md and .env.example. Bad values raise
ImproperlyConfigured naming the variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_str,
    env_url,
)

django_stubs_ext.monkeypatch()  # ModelAdmin[Paper] and the like, as mypy reads them

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", default=True)  # the embedded mode; production sets DEBUG=false
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-for-debug-mode"  # noqa: S105
# Earlier keys, still accepted for what they signed (sessions, links) while it expires.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_url("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "corsheaders",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.mfa",
    "csp",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.openid_connect",
    "accounts",
    "papers",
    "digests",
    "discussions",
    "readinglists",
    "people",
    "operations",
    "broadcasts",
]

MIDDLEWARE = [
    "config.middleware.RequestMetrics",
    "config.logs.RequestId",
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.RejectNulCharacters",
    "config.replicas.ReadReplicas",
    "config.middleware.DatabaseUnavailable",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: DATABASE_URL, or a SQLite file under var/ for the embedded mode.
_default_db = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
_database_url = env_str("DATABASE_URL", _default_db) or _default_db
_POSTGRESQL = "django.db.backends.postgresql"
# Behind a pooler that hands out server connections per transaction (PgBouncer's
# pool_mode = transaction), nothing may outlive a transaction on its connection: no
# server-side cursor (a `.iterator()` would look for it on another connection) and no
# prepared statement, unless the pooler keeps them (PgBouncer 1.21+ with
# max_prepared_statements: then DATABASE_PREPARED_STATEMENTS=true).
DATABASE_POOL_MODE = env_choice("DATABASE_POOL_MODE", ("session", "transaction"), "session")
DATABASE_PREPARED_STATEMENTS = env_bool(
    "DATABASE_PREPARED_STATEMENTS", DATABASE_POOL_MODE != "transaction"
)


def _database(variable: str, url: str) -> dict[str, Any]:
    """One entry of DATABASES, from its URL."""
    try:
        found: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
    except Exception as exc:  # dj-database-url raises ValueError or its own errors
        raise ImproperlyConfigured(f"{variable}={url!r} is not usable: {exc}") from exc
    # A connection kept between requests is checked before a request uses it: after a
    # database restart the site reconnects by itself instead of failing on a dead connection.
    found["CONN_HEALTH_CHECKS"] = True
    if found["ENGINE"] == "django.db.backends.sqlite3":
        found["CONN_MAX_AGE"] = 0
        found["OPTIONS"] = {"timeout": 20}
        return found
    options = found.setdefault("OPTIONS", {})
    if not DATABASE_PREPARED_STATEMENTS:
        # The token lookup and the vote are prepared on their connection (config.db.fetch_row).
        options["prepare_threshold"] = None
    if DATABASE_POOL_MODE == "transaction":
        found["DISABLE_SERVER_SIDE_CURSORS"] = True
    return found


DATABASES = {"default": _database("DATABASE_URL", _database_url)}
# Read replicas (config/replicas.py): each URL is an alias, replica_1, replica_2, ..., read
# by requests that change nothing; writes, and the reads of whoever just wrote, go to
# `default`. A replica is skipped while it lags or does not answer.
DATABASE_REPLICAS: list[str] = []
for _number, _url in enumerate(env_list("DATABASE_REPLICA_URLS", []), start=1):
    _replica = _database("DATABASE_REPLICA_URLS", _url)
    if DATABASES["default"]["ENGINE"] != _POSTGRESQL or _replica["ENGINE"] != _POSTGRESQL:
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URLS: read replicas are PostgreSQL streaming replicas of a "
            "PostgreSQL DATABASE_URL"
        )
    # A replica that does not answer costs a request this long at most, once.
    _replica["OPTIONS"]["connect_timeout"] = 2
    # Tests that start no replica read the test database through these aliases too.
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES[f"replica_{_number}"] = _replica
    DATABASE_REPLICAS.append(f"replica_{_number}")
DATABASE_ROUTERS = ["config.replicas.Router"]
# How long a browser that wrote (any POST, PUT, PATCH or DELETE) keeps reading `default`, so
# its member sees their own vote or comment at once; a replica lagging more is skipped.
DATABASE_REPLICA_PIN_SECONDS = env_int("DATABASE_REPLICA_PIN_SECONDS", 15, minimum=0)
DATABASE_REPLICA_MAX_LAG_SECONDS = env_float("DATABASE_REPLICA_MAX_LAG_SECONDS", 10.0, minimum=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: Redis when REDIS_URL is set, in-process memory otherwise. CACHE_URL puts the cache
# in a Redis of its own (one that may evict, kept apart from the broker's queues).
REDIS_URL = env_str("REDIS_URL")
CACHE_URL = env_str("CACHE_URL") or REDIS_URL
if CACHE_URL and not REDIS_URL:
    raise ImproperlyConfigured("CACHE_URL needs REDIS_URL (the broker) to be set too")
if REDIS_URL:
    env_url("REDIS_URL", REDIS_URL, schemes=("redis", "rediss", "unix"))
    env_url("CACHE_URL", CACHE_URL, schemes=("redis", "rediss", "unix"))
    CACHES = {
        "default": {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "dp",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Security: strict by default when DEBUG is off (passes `manage.py check --deploy`).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
# The preload directive only matters once an operator submits the domain to the list.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=SECURE_HSTS_SECONDS > 0)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts and styles from this site only (no page has
# an inline script or style), no framing, forms post here or to the sign-in providers.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        # A social sign-in posts here, then is redirected to the provider.
        "form-action": [SELF, "https://github.com", "https://huggingface.co"],
    }
}

# Paper sources. Base URLs are settings so tests and operators can point them elsewhere.
HF_API_URL = env_url("HF_API_URL", "https://huggingface.co")
ARXIV_API_URL = env_url("ARXIV_API_URL", "https://export.arxiv.org")
ARXIV_RSS_URL = env_url("ARXIV_RSS_URL", "https://rss.arxiv.org")
ARXIV_DELAY_SECONDS = env_float("ARXIV_DELAY_SECONDS", 3.0, minimum=0)
SOURCE_TIMEOUT_SECONDS = env_float("SOURCE_TIMEOUT_SECONDS", 20.0, minimum=0.1)
SOURCE_RETRIES = env_int("SOURCE_RETRIES", 4, minimum=1)
SOURCE_BACKOFF_SECONDS = env_float("SOURCE_BACKOFF_SECONDS", 1.0, minimum=0)
SUBMISSIONS_PER_DAY = env_int("SUBMISSIONS_PER_DAY", 10, minimum=0)
# Every submission attempt counts (one for a paper arXiv does not have, too).
SUBMISSION_ATTEMPTS_PER_HOUR = env_int("SUBMISSION_ATTEMPTS_PER_HOUR", 30, minimum=1)
# Discussions: comment length and rates; members younger than NEW_MEMBER_DAYS get the
# stricter rate. Mention and reply notifications: one mail per member per interval at most.
COMMENT_MAX_CHARS = env_int("COMMENT_MAX_CHARS", 10_000, minimum=1)
COMMENTS_PER_HOUR = env_int("COMMENTS_PER_HOUR", 30, minimum=1)
NEW_MEMBER_COMMENTS_PER_HOUR = env_int("NEW_MEMBER_COMMENTS_PER_HOUR", 5, minimum=1)
NEW_MEMBER_DAYS = env_int("NEW_MEMBER_DAYS", 3, minimum=0)
REACTIONS_PER_HOUR = env_int("REACTIONS_PER_HOUR", 300, minimum=1)
REPORTS_PER_HOUR = env_int("REPORTS_PER_HOUR", 20, minimum=1)
NOTIFICATION_MAIL_EVERY_MINUTES = env_int("NOTIFICATION_MAIL_EVERY_MINUTES", 60, minimum=1)
DEMO_DATA_FILE = BASE_DIR / "papers" / "demo" / "hf_daily_papers_2026-06-12.json"

# Logs: "text" lines, or "json" lines for a log collector; each with its request's id
# (config/logs.py), also in the tasks a request queued.
LOG_FORMAT = env_choice("LOG_FORMAT", ("text", "json"), "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.logs.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Errors to Sentry when SENTRY_DSN is set (the `sentry` extra: pip install
# 'daily-papers[sentry]'; the Docker image has it). No personal data is sent.
SENTRY_DSN = env_str("SENTRY_DSN")
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", "production")
SENTRY_TRACES_SAMPLE_RATE = env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0, minimum=0.0)
if SENTRY_DSN:
    try:
        import sentry_sdk
        from sentry_sdk.integrations.celery import CeleryIntegration
        from sentry_sdk.integrations.django import DjangoIntegration
    except ImportError as exc:
        raise ImproperlyConfigured(
            "SENTRY_DSN is set but sentry-sdk is not installed: pip install 'daily-papers[sentry]'"
        ) from exc
    sentry_sdk.init(
        dsn=SENTRY_DSN,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        environment=SENTRY_ENVIRONMENT,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
        send_default_pii=False,
    )

# Accounts
# django-allauth: email and password, with the email as the login (usernames are generated
# from it). GitHub and Hugging Face sign-in appear only when their client is configured.
# Django's and allauth's backends with each member's user row kept in process (caching/users.py);
# the plain ones after them keep sessions made by them valid.
AUTHENTICATION_BACKENDS = [
    "caching.users.ModelBackend",  # the admin signs in by username
    "caching.users.AuthenticationBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
# cached_db sessions, each also kept in the process that read it (caching/sessions.py).
SESSION_ENGINE = "caching.sessions"
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
_EMAIL_VERIFICATION_METHODS = ("mandatory", "optional", "none")
ACCOUNT_EMAIL_VERIFICATION = env_str("ACCOUNT_EMAIL_VERIFICATION", "mandatory").lower()
if ACCOUNT_EMAIL_VERIFICATION not in _EMAIL_VERIFICATION_METHODS:
    raise ImproperlyConfigured(
        f"ACCOUNT_EMAIL_VERIFICATION={env_str('ACCOUNT_EMAIL_VERIFICATION')!r} is not one of: "
        + ", ".join(_EMAIL_VERIFICATION_METHODS)
    )
# The link in the mail opens a page with a button: a mail scanner following links confirms
# nothing. Confirming in the browser that signed up also signs in.
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_GET = False  # a GET shows a confirmation page; only a POST signs out
ACCOUNT_PREVENT_ENUMERATION = True
# A reset asked for an address with no account sends nothing (the page says the same).
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Daily Papers] "
# Counted in the cache: shared by every process with Redis, per process with the in-memory
# cache of the embedded mode. "key" is the email address being tried.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "5/m/ip,3/h/key",  # at most 3 reset mails an hour to an address
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
}
# Behind N reverse proxies, the client address is the Nth from the right in X-Forwarded-For;
# with 0 it is REMOTE_ADDR (a proxy that is not counted makes every client look the same).
# One rule for every limit: DRF's NUM_PROXIES (config/ratelimit.py, client_ip), which the
# account adapter gives allauth too; allauth's own count is kept equal for its other uses.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT


def _oauth_client(id_variable: str, secret_variable: str) -> tuple[str, str] | None:
    """An OAuth client id and secret, both or neither."""
    client_id, secret = env_str(id_variable), env_str(secret_variable)
    if bool(client_id) != bool(secret):
        missing = secret_variable if client_id else id_variable
        present = id_variable if client_id else secret_variable
        raise ImproperlyConfigured(f"{missing} must be set when {present} is set")
    return (client_id, secret) if client_id else None


# Apps are configured here rather than as SocialApp rows in the database.
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, Any]] = {}
if _github := _oauth_client("GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET"):
    SOCIALACCOUNT_PROVIDERS["github"] = {
        "APPS": [{"client_id": _github[0], "secret": _github[1], "key": ""}],
        "SCOPE": ["read:user", "user:email"],
    }
# Hugging Face is an OpenID Connect provider (discovery at /.well-known/openid-configuration).
if _huggingface := _oauth_client("HF_OAUTH_CLIENT_ID", "HF_OAUTH_CLIENT_SECRET"):
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "APPS": [
            {
                "provider_id": "huggingface",
                "name": "Hugging Face",
                "client_id": _huggingface[0],
                "secret": _huggingface[1],
                "settings": {
                    "server_url": "https://huggingface.co",
                    "scope": ["openid", "profile", "email"],
                    "oauth_pkce_enabled": True,
                },
            }
        ]
    }
SOCIALACCOUNT_QUERY_EMAIL = True
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
# A second factor for whoever wants one (staff above all): an authenticator app's codes,
# with recovery codes. The admin signs in through allauth (config/urls.py), so it asks too.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Daily Papers"
# An email address claimed by a provider never signs in to an existing local account.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_STORE_TOKENS = False

# Celery
# Redis is the broker when REDIS_URL is set. Without it (the embedded mode) tasks run eagerly
# in the process that queues them, so `make run` needs no service.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None  # only the worker ping of the tests reads results
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Every task is idempotent: acknowledge after it ran, so a worker that dies hands it on.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360, minimum=1)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured(
        f"CELERY_TASK_TIME_LIMIT={CELERY_TASK_TIME_LIMIT} must be more than "
        f"CELERY_TASK_SOFT_TIME_LIMIT={CELERY_TASK_SOFT_TIME_LIMIT}"
    )
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")


def _hour(name: str, default: int) -> int:
    """An hour of the day, 0 to 23 (UTC)."""
    value = env_int(name, default, minimum=0)
    if value > 23:
        raise ImproperlyConfigured(f"{name}={value} is not an hour of the day (0 to 23)")
    return value


# Metrics (/metrics, Prometheus's text format) for a scraper sending
# `Authorization: Bearer METRICS_TOKEN`; without a token the endpoint does not exist.
# PROMETHEUS_MULTIPROC_DIR (read by prometheus_client) shares them between processes.
METRICS_TOKEN = env_str("METRICS_TOKEN")
# Alerts (hourly): a source failing this many runs in a row, or a weekday with no new
# papers, is mailed to ADMIN_EMAILS (or else the superusers), once a day per problem.
ADMINS = [(email, email) for email in env_list("ADMIN_EMAILS", [])]
ALERT_FAILED_RUNS = env_int("ALERT_FAILED_RUNS", 3, minimum=1)
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR")  # read by config/metrics.py
METRICS_QUEUES = env_list("METRICS_QUEUES", ["celery"])

# Scheduled ingestion (times in UTC). arXiv announces at 20:00 US Eastern; its RSS listings
# carry the new papers from about midnight Eastern, 04:00 or 05:00 UTC.
INGEST_HF_EVERY_MINUTES = env_int("INGEST_HF_EVERY_MINUTES", 60, minimum=1)
# Search: "hybrid" (full text and meaning, fused; the default), "fulltext" or "vector";
# a paper counts as a match by meaning from this cosine up (docs/SEARCH.md chose both).
SEARCH_MODE = env_choice("SEARCH_MODE", ("hybrid", "fulltext", "vector"), "hybrid")
SEARCH_MIN_SIMILARITY = env_float("SEARCH_MIN_SIMILARITY", 0.2, minimum=-1.0)
# The nearest vectors: "exact" (numpy, every vector in each process: right to a few hundred
# thousand papers) or "hnsw" (an approximate graph file shared by the processes, built by
# `manage.py build_vector_index` and each night at VECTOR_INDEX_HOUR: all of arXiv).
VECTOR_INDEX = env_choice("VECTOR_INDEX", ("exact", "hnsw"), "exact")
VECTOR_INDEX_HOUR = _hour("VECTOR_INDEX_HOUR", 2)

ARXIV_CATEGORIES = env_list("ARXIV_CATEGORIES", ["cs.AI", "cs.CL", "cs.CV", "cs.LG"])
ARXIV_INGEST_HOUR = _hour("ARXIV_INGEST_HOUR", 5)
# All of arXiv over OAI-PMH: the sets harvested each day at ARXIV_OAI_HOUR ("all" for every
# paper; empty: none), in the arXivRaw format (every version dated) or arXiv.
ARXIV_OAI_URL = env_url("ARXIV_OAI_URL", "https://oaipmh.arxiv.org/oai")
ARXIV_OAI_SETS = env_list("ARXIV_OAI_SETS", [])
ARXIV_OAI_FORMAT = {"arxivraw": "arXivRaw", "arxiv": "arXiv"}[
    env_choice("ARXIV_OAI_FORMAT", ("arxivraw", "arxiv"), "arxivraw")
]
ARXIV_OAI_HOUR = _hour("ARXIV_OAI_HOUR", 6)

# Email and digests
from urllib.parse import parse_qsl, unquote, urlsplit  # noqa: E402

# EMAIL_URL (smtp://user:password@host:587?tls=true, smtps://..., console:, file:///dir)
# or EMAIL_HOST and friends; without either, mail is printed on the console (embedded mode).
# Parsed here, not by dj-email-url (1.0.6): it reads smtps:// as STARTTLS with no port (not
# TLS on 465, RFC 8314), drops file:///dir's leading slash and ignores unknown schemes.
EMAIL_URL = env_str("EMAIL_URL")
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=False)
EMAIL_PORT = env_int("EMAIL_PORT", 465 if EMAIL_USE_SSL else 587 if EMAIL_USE_TLS else 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_TIMEOUT = env_float("EMAIL_TIMEOUT", 20.0, minimum=0.1)
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
_EMAIL_SMTP_PORTS = {"smtp": 25, "smtp+tls": 587, "submission": 587, "smtps": 465}
_EMAIL_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
}
if EMAIL_URL:
    _mail = urlsplit(EMAIL_URL)
    _mail_query = {k: v.lower() for k, v in parse_qsl(_mail.query)}
    _mail_shown = _mail._replace(netloc=_mail.netloc.rpartition("@")[2]).geturl()  # no password
    if _mail.scheme in _EMAIL_SMTP_PORTS:
        try:
            EMAIL_PORT = _mail.port or _EMAIL_SMTP_PORTS[_mail.scheme]
        except ValueError:
            raise ImproperlyConfigured(f"EMAIL_URL={_mail_shown!r} has a bad port") from None
        if not _mail.hostname:
            raise ImproperlyConfigured(f"EMAIL_URL={_mail_shown!r} has no host")
        EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        EMAIL_HOST = _mail.hostname
        EMAIL_HOST_USER = unquote(_mail.username or "")
        EMAIL_HOST_PASSWORD = unquote(_mail.password or "")
        EMAIL_USE_SSL = _mail.scheme == "smtps" or _mail_query.get("ssl") in ("1", "true")
        EMAIL_USE_TLS = not EMAIL_USE_SSL and (
            _mail.scheme in ("smtp+tls", "submission") or _mail_query.get("tls") in ("1", "true")
        )
    elif _mail.scheme in _EMAIL_BACKENDS:
        EMAIL_BACKEND = _EMAIL_BACKENDS[_mail.scheme]
        if _mail.scheme == "file" and _mail.path:
            EMAIL_FILE_PATH = _mail.path
    else:
        raise ImproperlyConfigured(
            f"EMAIL_URL={_mail_shown!r}: the scheme must be one of "
            + ", ".join([*_EMAIL_SMTP_PORTS, *_EMAIL_BACKENDS])
        )
elif EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be true")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Daily Papers <digests@localhost>")

# Digests: the daily one goes out on weekdays, the weekly one on Mondays (hours in UTC).
DIGEST_DAILY_HOUR = _hour("DIGEST_DAILY_HOUR", 7)
DIGEST_WEEKLY_HOUR = _hour("DIGEST_WEEKLY_HOUR", 7)
DIGEST_TOP_N = env_int("DIGEST_TOP_N", 10, minimum=1)
DIGEST_BATCH_SIZE = env_int("DIGEST_BATCH_SIZE", 200, minimum=1)  # messages per SMTP connection
DIGEST_SEND_CONCURRENCY = env_int("DIGEST_SEND_CONCURRENCY", 4, minimum=1)  # batches at once
DIGEST_MAX_ATTEMPTS = env_int("DIGEST_MAX_ATTEMPTS", 5, minimum=1)
DIGEST_RETRY_BACKOFF_SECONDS = env_int("DIGEST_RETRY_BACKOFF_SECONDS", 300, minimum=0)
DIGEST_RETRY_EVERY_MINUTES = env_int("DIGEST_RETRY_EVERY_MINUTES", 10, minimum=1)
DIGEST_STALE_AFTER_MINUTES = env_int("DIGEST_STALE_AFTER_MINUTES", 60, minimum=1)
DIGEST_SEND_TIME_LIMIT = env_int("DIGEST_SEND_TIME_LIMIT", 3600, minimum=60)
DIGEST_CONFIRM_MAX_AGE_HOURS = env_int("DIGEST_CONFIRM_MAX_AGE_HOURS", 72, minimum=1)
DIGEST_CONFIRM_REMIND_AFTER_HOURS = env_int("DIGEST_CONFIRM_REMIND_AFTER_HOURS", 24, minimum=0)
# Subscriptions never confirmed are deleted this many days after they were asked for.
DIGEST_UNCONFIRMED_PURGE_DAYS = env_int("DIGEST_UNCONFIRMED_PURGE_DAYS", 30, minimum=1)
# A digest still unsent this many days after it was due (a long outage) is skipped, not
# sent late; the admin shows why.
DIGEST_LATE_AFTER_DAYS = env_int("DIGEST_LATE_AFTER_DAYS", 2, minimum=0)
DIGEST_SUBSCRIBE_PER_IP_PER_HOUR = env_int("DIGEST_SUBSCRIBE_PER_IP_PER_HOUR", 20, minimum=1)
DIGEST_SUBSCRIBE_PER_ADDRESS_PER_DAY = env_int("DIGEST_SUBSCRIBE_PER_ADDRESS_PER_DAY", 3, minimum=1)

# REST API (DRF + drf-spectacular). Public reads: any origin, optional token. Writes: a
# personal token (`Authorization: Bearer <token>`) or a session with its CSRF token.


def _api_rate(name: str, default: str) -> str:
    """A DRF throttle rate such as 60/min (per second, minute, hour or day)."""
    import re

    value = env_str(name, default)
    if not re.fullmatch(r"[1-9]\d*/(s|sec|second|m|min|minute|h|hour|d|day)", value):
        raise ImproperlyConfigured(f"{name}={value!r} is not a rate like 60/min")
    return value


API_THROTTLE_ANON = _api_rate("API_THROTTLE_ANON", "60/min")  # per client address
API_THROTTLE_USER = _api_rate("API_THROTTLE_USER", "600/min")  # per member, all tokens
# Votes, per member, through the site and the API together (a member's tokens share it).
VOTE_THROTTLE = _api_rate("VOTE_THROTTLE", "60/min")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_THROTTLE_CLASSES": [
        "accounts.authentication.AnonRateThrottle",
        "accounts.authentication.MemberRateThrottle",
    ],
    # Read by DRF's own throttles; ours read API_THROTTLE_* on every request.
    "DEFAULT_THROTTLE_RATES": {
        "anon": API_THROTTLE_ANON,
        "user": API_THROTTLE_USER,
        "votes": VOTE_THROTTLE,
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    # Client addresses for the anonymous rate: as for allauth, the Nth from the right in
    # X-Forwarded-For behind N proxies, REMOTE_ADDR with 0.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Daily Papers API",
    "DESCRIPTION": (
        "Hugging Face-compatible reads (`/api/daily_papers`, `/api/papers/{paper_id}`, "
        "`/api/papers/search`): tools written for huggingface.co work unchanged. Writes "
        "need a personal token from your profile page, sent as "
        '`Authorization: Bearer <token>`. Errors are `{"error": "..."}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api",
}
# Swagger UI's assets are served by us (whitenoise), not by a CDN.
INSTALLED_APPS.append("drf_spectacular_sidecar")
SPECTACULAR_SETTINGS |= {
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# CORS: browsers on any site may read the API (no cookies, reads only). The write and
# account endpoints send no CORS headers at all, so a page elsewhere can neither send them
# a token (its preflight fails) nor read their answers.
CORS_URLS_REGEX = r"^/api/(?!(?:papers/submit|papers/.+/upvote|whoami(?:-v2)?)$).*$"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_METHODS = ["GET", "HEAD", "OPTIONS"]
CORS_ALLOW_HEADERS = ["accept", "authorization", "if-none-match", "user-agent"]
CORS_EXPOSE_HEADERS = ["ETag", "Retry-After"]
CORS_PREFLIGHT_MAX_AGE = 86400
