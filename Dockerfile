# syntax=docker/dockerfile:1
# One image for web (gunicorn), worker and beat (celery): slim, non-root, with the static
# files collected at build time. See docker-compose.yml.
FROM python:3.11-slim

# DEBUG off unless asked for: an image never runs in debug mode by accident.
ENV DEBUG=false \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles

WORKDIR /app
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app

# Dependencies first, pinned by the lock file, so code changes reuse this layer.
COPY pyproject.toml requirements.lock README.md ./
RUN pip install --constraint requirements.lock '.[sentry]'

# The code stays owned by root (read-only for the app); only VAR_DIR is writable.
COPY . .
RUN DEBUG=false SECRET_KEY=build-only-collectstatic python manage.py collectstatic --no-input \
    && mkdir -p "$VAR_DIR" && chown app:app "$VAR_DIR"

USER app
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind=0.0.0.0:8000", "--access-logfile=-"]
