"""Backup and restore: `manage.py export` writes the whole site to one archive, `manage.py
import` restores it into an empty instance, and every table comes back as it was (on the
database the suite runs on: SQLite, and PostgreSQL in CI)."""

from __future__ import annotations

import json
import zipfile
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command
from django.db.models import Model
from django.utils import timezone

from accounts.models import ApiToken, User
from digests.models import Delivery, Subscription
from discussions.models import Reaction
from operations import backup
from papers.embeddings import embed_stale
from papers.models import AuthorClaim, Follow, IngestRun, Paper
from readinglists.models import Collection, CollectionItem
from tests.factories import CommentFactory, PaperFactory, UpvoteFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def site():
    """A populated site: papers with vectors, members, votes, a discussion, a collection
    shared with an editor, follows, a claim, a digest subscription with its deliveries,
    ingestion runs and an API token."""
    ada, bob = UserFactory(username="ada"), UserFactory(username="bob")
    ada.set_password("correct horse battery staple")
    ada.save()
    EmailAddress.objects.create(user=ada, email=ada.email, verified=True, primary=True)
    papers = [PaperFactory(upvote_count=1) for _ in range(4)]
    embed_stale()
    for paper in papers[:3]:
        UpvoteFactory(user=ada, paper=paper)
    comment = CommentFactory(paper=papers[0], author=bob)
    CommentFactory(paper=papers[0], author=ada, parent=comment)
    Reaction.objects.create(comment=comment, user=ada, emoji="👍")
    shelf = Collection.objects.create(owner=ada, name="Reading", slug="reading")
    shelf.editors.add(bob)
    CollectionItem.objects.create(collection=shelf, paper=papers[1], position=1, note="Read")
    Follow.objects.create(user=bob, kind=Follow.Kind.MEMBER, key="ada", label="ada", member=ada)
    AuthorClaim.objects.create(
        paper=papers[2], author_index=0, author_name="Ada", author_key="ada", user=ada
    )
    subscription = Subscription.objects.create(
        email="reader@example.org", keywords=["diffusion"], confirmed_at=timezone.now()
    )
    Delivery.objects.create(
        subscription=subscription, frequency="daily", period="2026-12-01", status="sent"
    )
    IngestRun.objects.create(source="hf", finished_at=timezone.now() + timedelta(seconds=3))
    ApiToken.objects.create(user=ada, name="laptop", key_hash="f" * 64, prefix="dp_ffff")
    return {"ada": ada, "papers": papers}


def tables() -> dict[str, dict[object, dict[str, object]]]:
    """Every row of every model with data, by primary key, as the database holds it."""
    return {
        model._meta.label_lower: {
            row[model._meta.pk.attname]: row for row in model._base_manager.values()
        }
        for model in backup.models()
    }


def differences(before, after) -> list[tuple[str, object, str, object, object]]:
    """(model, pk, field, before, after) for every value that changed, and every row that
    appeared or went."""
    found = []
    for label in before.keys() | after.keys():
        old, new = before.get(label, {}), after.get(label, {})
        for pk in old.keys() | new.keys():
            a, b = old.get(pk, {}), new.get(pk, {})
            found += [
                (label, pk, k, a.get(k), b.get(k))
                for k in a.keys() | b.keys()
                if a.get(k) != b.get(k)
            ]
    return sorted(found, key=str)


def links() -> list[tuple[int, int]]:
    """The collections' editors (a many-to-many table of its own)."""
    return sorted(Collection.editors.through.objects.values_list("collection_id", "user_id"))


def empty_the_site() -> None:
    for model in reversed(backup.models()):
        model._base_manager.all().delete()


def test_an_archive_restores_every_table_as_it_was(site, tmp_path, capsys):
    before, linked = tables(), links()
    archive = tmp_path / "site.zip"
    call_command("export", archive, "--with-secrets")
    out = capsys.readouterr().out
    assert "papers.paper: 4 rows" in out
    assert "with secrets" in out
    empty_the_site()
    assert Paper.objects.count() == 0
    call_command("import", archive)
    assert differences(before, tables()) == []
    assert links() == linked
    ada = User.objects.get(username="ada")
    assert ada.check_password("correct horse battery staple")
    assert Paper.objects.count() == 4
    # The next rows take new ids after the restored ones.
    assert PaperFactory().pk > max(p.pk for p in site["papers"])
    assert UserFactory().pk > ada.pk


def test_without_secrets_members_come_back_without_their_passwords_and_tokens(site, tmp_path):
    before = tables()
    archive = tmp_path / "site.zip"
    call_command("export", archive)
    with zipfile.ZipFile(archive) as written:
        manifest = json.loads(written.read("manifest.json"))
        names = written.namelist()
        users = written.read("data/accounts.user.jsonl").decode()
    assert manifest["with_secrets"] is False
    assert "data/accounts.apitoken.jsonl" not in names
    assert "correct horse" not in users
    assert site["ada"].password not in users
    empty_the_site()
    call_command("import", archive)
    after = tables()
    ada = User.objects.get(username="ada")
    assert not ada.has_usable_password()
    assert after["accounts.apitoken"] == {}
    for label in before:
        if label not in {"accounts.user", "accounts.apitoken"}:
            assert after[label] == before[label], label

    def without_password(rows):
        return {pk: {k: v for k, v in row.items() if k != "password"} for pk, row in rows.items()}

    assert without_password(after["accounts.user"]) == without_password(before["accounts.user"])


def test_import_refuses_a_database_with_data_and_writes_nothing(site, tmp_path):
    archive = tmp_path / "site.zip"
    call_command("export", archive)
    before = tables()
    with pytest.raises(CommandError, match="already has data"):
        call_command("import", archive)
    assert tables() == before


def test_import_refuses_what_is_not_an_archive(tmp_path, db):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    with pytest.raises(CommandError, match="not a readable archive"):
        call_command("import", junk)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as written:
        written.writestr("hello.txt", "hi")
    with pytest.raises(CommandError, match="no manifest"):
        call_command("import", other)


def rewritten(archive, into, name: str, change) -> None:
    """A copy of the archive with one member changed by `change` (bytes -> bytes)."""
    with zipfile.ZipFile(archive) as old, zipfile.ZipFile(into, "w") as new:
        for member in old.namelist():
            data = old.read(member)
            new.writestr(member, change(data) if member == name else data)


def test_import_refuses_an_archive_from_a_newer_version(site, tmp_path):
    archive = tmp_path / "site.zip"
    call_command("export", archive)
    newer = tmp_path / "newer.zip"

    def from_the_future(data: bytes) -> bytes:
        manifest = json.loads(data)
        manifest["migrations"]["papers"].append("9999_from_the_future")
        return json.dumps(manifest).encode()

    rewritten(archive, newer, "manifest.json", from_the_future)
    empty_the_site()
    with pytest.raises(CommandError, match="9999_from_the_future"):
        call_command("import", newer)
    assert Paper.objects.count() == 0


def test_a_broken_archive_leaves_the_database_empty(site, tmp_path):
    archive = tmp_path / "site.zip"
    call_command("export", archive)
    broken = tmp_path / "broken.zip"
    vote_of_nobody = b'{"model": "papers.upvote", "pk": 999, "fields": {"user": 424242}}\n'
    rewritten(archive, broken, "data/papers.upvote.jsonl", lambda data: data + vote_of_nobody)
    empty_the_site()
    with pytest.raises(Exception):  # noqa: B017, PT011  (the database's own error)
        call_command("import", broken)
    assert all(rows == {} for rows in tables().values())


def test_every_model_with_data_is_in_the_archive():
    labels = {model._meta.label_lower for model in backup.models()}
    for expected in (
        "accounts.user",
        "papers.paper",
        "papers.upvote",
        "papers.paperembedding",
        "discussions.comment",
        "readinglists.collection",
        "digests.subscription",
        "digests.delivery",
        "account.emailaddress",
    ):
        assert expected in labels
    assert not labels & backup.NOT_DATA
    assert all(isinstance(model(), Model) for model in backup.models())


POPULATE = """
import django
django.setup()
from accounts.models import User
from discussions.services import comment_post
from papers.models import Paper
from papers.services.votes import paper_upvote
from readinglists.models import Collection, CollectionItem

ada = User.objects.create_user("ada", "ada@example.org", "correct horse battery staple")
paper = Paper.objects.order_by("id").first()
paper_upvote(paper=paper, user=ada)
comment_post(user=ada, paper=paper, body="Moved with the rest of the lab.")
shelf = Collection.objects.create(owner=ada, name="To read", slug="to-read")
CollectionItem.objects.create(collection=shelf, paper=paper, position=1)
"""


def django_default_hashers() -> list[str]:
    """The site's own hashers (the suite uses a fast one): what `make run` hashed with."""
    from django.conf import global_settings

    return list(global_settings.PASSWORD_HASHERS)


@pytest.mark.postgres
def test_a_site_moves_from_make_run_to_the_full_stack(tmp_path, settings):
    """`make run`'s SQLite site, exported and imported into PostgreSQL, whole."""
    settings.PASSWORD_HASHERS = django_default_hashers()
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'site.sqlite3'}"}
    env.pop("REDIS_URL", None)
    archive = tmp_path / "site.zip"
    for step in (
        ["manage.py", "migrate", "-v0"],
        ["manage.py", "load_demo"],
        ["manage.py", "embed_papers"],
        ["-c", POPULATE],
        ["manage.py", "export", str(archive), "--with-secrets"],
    ):
        subprocess.run(  # noqa: S603  (this interpreter, our own commands)
            [sys.executable, *step], env=env, cwd=root, check=True, capture_output=True
        )
    with zipfile.ZipFile(archive) as written:
        exported = json.loads(written.read("manifest.json"))["models"]

    call_command("import", archive)

    assert exported["papers.paper"] == Paper.objects.count() > 0
    assert exported["papers.paperembedding"] == Paper.objects.count()
    for label, rows in exported.items():
        model = next(m for m in backup.models() if m._meta.label_lower == label)
        assert model._base_manager.count() == rows, label
    ada = User.objects.get(username="ada")
    assert ada.check_password("correct horse battery staple")
    paper = Paper.objects.order_by("id").first()
    assert paper.upvote_count == 1
    assert paper.comments.get().body == "Moved with the rest of the lab."
    assert Collection.objects.get(slug="to-read").items.get().paper == paper
    # PostgreSQL's full-text search finds the imported papers (its trigger filled them in).
    from papers.selectors import search_papers

    assert paper in search_papers(max(paper.title.split(), key=len))
