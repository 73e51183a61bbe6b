"""Backup and restore: the whole site in one portable archive (`manage.py export`), restored
into an empty instance (`manage.py import`), on SQLite as on PostgreSQL, so a lab can move
from `make run` to the full stack keeping everything.

The archive is a zip: `manifest.json` (the format, the migrations the data was written
under, how many rows of each model) and one `data/<app>.<model>.jsonl` per model, one row
a line in Django's JSON Lines serialisation, primary keys kept (so every relation holds).
Secrets stay out unless asked (`--with-secrets`): members' password hashes (they sign in
again by resetting their password), API tokens, second factors, OAuth tokens and the team
channels' webhook URLs. Sessions,
permissions and content types are not data: the next migrate and sign-in make them.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, time
from itertools import islice
from pathlib import Path
from typing import IO, Any, TypeVar

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.core import serializers
from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Model

from caching import announce
from caching.generations import ALL
from config.refusals import Refused

FORMAT = 1
BATCH = 2_000
NOT_DATA = {
    "admin.logentry",  # the admin's history, tied to content type ids
    "auth.permission",
    "contenttypes.contenttype",
    "sessions.session",
}
SECRETS = {  # credentials: in the archive only with --with-secrets
    "accounts.apitoken",
    "mfa.authenticator",
    "socialaccount.socialtoken",
    "socialaccount.socialapp",  # OAuth clients' secrets, when kept in the database
    "broadcasts.channel",  # a webhook URL lets anyone post to the channel
    "broadcasts.post",  # a channel's posts, which need the channel
}
DERIVED_FIELDS = {"papers.paper": {"search_vector"}}  # PostgreSQL's trigger remakes it
Progress = Callable[[str, int], None]
T = TypeVar("T")


class ExactEncoder(DjangoJSONEncoder):
    """Django's encoder keeps milliseconds of a time; a backup keeps every microsecond."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime | time):
            return o.isoformat()
        return super().default(o)


class RestoreRefused(Refused):
    """The archive cannot be restored here; nothing was written."""


def models() -> list[type[Model]]:
    """Every model with data, in an order where what a row points to comes first."""
    everything = [(config, None) for config in apps.get_app_configs()]
    ordered = serializers.sort_dependencies(everything, allow_cycles=True)
    return [
        model
        for model in ordered
        if model._meta.label_lower not in NOT_DATA and model._meta.managed and not model._meta.proxy
    ]


def _fields(model: type[Model]) -> list[str]:
    skipped = DERIVED_FIELDS.get(model._meta.label_lower, set())
    own = [*model._meta.local_fields, *model._meta.local_many_to_many]
    return [
        field.name
        for field in own
        if getattr(field, "serialize", True) and field.name not in skipped
    ]


def _batches(items: Iterable[T]) -> Iterator[list[T]]:
    found = iter(items)
    while batch := list(islice(found, BATCH)):
        yield batch


def _without_password(users: list[Model]) -> list[Model]:
    for user in users:
        user.password = make_password(None)  # type: ignore[attr-defined]  # unusable: reset to sign in
    return users


def export(
    path: Path, *, with_secrets: bool = False, progress: Progress | None = None
) -> dict[str, int]:
    """Write the archive to `path` (complete, or not at all). Rows of each model written."""
    counts: dict[str, int] = {}
    user_label = apps.get_model("accounts", "User")._meta.label_lower
    partial = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for model in models():
            label = model._meta.label_lower
            if label in SECRETS and not with_secrets:
                continue
            counts[label] = 0
            rows = model._base_manager.order_by("pk").iterator(chunk_size=BATCH)
            with archive.open(f"data/{label}.jsonl", "w") as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
                for batch in _batches(rows):
                    if label == user_label and not with_secrets:
                        batch = _without_password(batch)
                    serializers.serialize(
                        "jsonl", batch, stream=text, fields=_fields(model), cls=ExactEncoder
                    )
                    counts[label] += len(batch)
                    if progress is not None:
                        progress(label, counts[label])
                text.flush()
                text.detach()
        manifest = {
            "format": FORMAT,
            "created": datetime.now(UTC).isoformat(),
            "with_secrets": with_secrets,
            "migrations": _migrations(),
            "models": counts,
        }
        archive.writestr("manifest.json", json.dumps(manifest, indent=2))
    os.replace(partial, path)
    return counts


def _migrations() -> dict[str, list[str]]:
    """The migrations applied here, by app."""
    found: dict[str, list[str]] = {}
    for app, name in sorted(MigrationRecorder(connection).applied_migrations()):
        found.setdefault(app, []).append(name)
    return found


def read_manifest(archive: zipfile.ZipFile) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads(archive.read("manifest.json"))
    except (KeyError, ValueError) as exc:
        raise RestoreRefused("This is not an archive of `manage.py export` (no manifest).") from exc
    if manifest.get("format") != FORMAT:
        raise RestoreRefused(
            f"The archive is in format {manifest.get('format')!r}; this version reads {FORMAT}."
        )
    return manifest


def _check_migrations(manifest: dict[str, Any]) -> None:
    here = _migrations()
    missing = [
        f"{app}.{name}"
        for app, names in manifest.get("migrations", {}).items()
        for name in names
        if name not in here.get(app, [])
    ]
    if missing:
        shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        raise RestoreRefused(
            f"The archive was written by a newer version (migrations not applied here: "
            f"{shown}). Upgrade this instance and run `manage.py migrate` first."
        )


def _check_empty() -> None:
    for label in ("papers.paper", "accounts.user"):
        if apps.get_model(label)._base_manager.exists():
            raise RestoreRefused(
                f"This database already has data ({label} rows): import restores into an "
                "empty instance. Use a new database, migrated and empty."
            )


def restore(path: Path, *, progress: Progress | None = None) -> dict[str, int]:
    """Restore the archive at `path` into this empty instance, all or nothing. Rows of
    each model written."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise RestoreRefused(f"{path} is not a readable archive: {exc}") from exc
    with archive:
        manifest = read_manifest(archive)
        _check_migrations(manifest)
        _check_empty()
        counts: dict[str, int] = {}
        by_label = {model._meta.label_lower: model for model in models()}
        with transaction.atomic():
            for label in manifest["models"]:
                model = by_label.get(label)
                if model is None:
                    raise RestoreRefused(f"The archive holds {label}, which this version lacks.")
                with archive.open(f"data/{label}.jsonl") as raw:
                    counts[label] = _load(model, io.TextIOWrapper(raw, encoding="utf-8"))
                if progress is not None:
                    progress(label, counts[label])
            _reset_sequences(list(by_label.values()))
    announce(hard={ALL})
    return counts


def _load(model: type[Model], text: IO[str]) -> int:
    """Insert the rows as they were (raw: no field takes a new value, as `auto_now` would),
    a batch per statement; then their many-to-many links."""
    fields = [field for field in model._meta.local_concrete_fields]
    loaded = 0
    links: list[tuple[Model, dict[str, Sequence[Any]]]] = []
    for batch in _batches(serializers.deserialize("jsonl", text, ignorenonexistent=True)):
        objects = [item.object for item in batch]
        model._base_manager._insert(objects, fields=fields, raw=True)  # type: ignore[attr-defined]  # bulk_create, without its pre_save
        links += [(item.object, item.m2m_data) for item in batch if item.m2m_data]
        loaded += len(objects)
    for instance, m2m in links:
        for name, ids in m2m.items():
            if ids:
                getattr(instance, name).set(ids)
    return loaded


def _reset_sequences(every: list[type[Model]]) -> None:
    """Make the next row of each table take an id after the restored ones (PostgreSQL)."""
    statements = connection.ops.sequence_reset_sql(no_style(), every)
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
