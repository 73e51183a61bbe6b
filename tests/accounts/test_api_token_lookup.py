"""The token lookup of every authenticated API call: one query, no write on most calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.authentication import BearerTokenAuthentication
from accounts.models import ApiToken
from accounts.selectors import api_token_by_plaintext
from accounts.services import LAST_USED_PRECISION, api_token_create, api_token_revoke
from caching import store
from config.db import fetch_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(alice) -> str:
    return api_token_create(user=alice, name="laptop").plaintext


def test_the_lookup_is_one_query_with_the_member(alice, token, django_assert_num_queries):
    with django_assert_num_queries(1):
        found = api_token_by_plaintext(token)
        assert found.user.username == "alice"  # loaded with the token: no second query

    stored = ApiToken.objects.select_related("user").get()
    assert found == stored
    for field in ApiToken._meta.concrete_fields:  # the same values as the ORM reads
        assert getattr(found, field.attname) == getattr(stored, field.attname), field.name
    for field in type(alice)._meta.concrete_fields:
        assert getattr(found.user, field.attname) == getattr(stored.user, field.attname)
    assert found.created_at.tzinfo is not None
    assert found.user.is_active is True
    assert found._state.adding is False  # a loaded row, saved as an update


def test_a_wrong_revoked_or_orphaned_token_is_not_found(alice, bob, token):
    other = api_token_create(user=bob, name="bob's").plaintext

    assert api_token_by_plaintext("dp_" + "x" * 43) is None
    assert api_token_by_plaintext(token[:-1]) is None
    api_token_revoke(user=alice, token_id=ApiToken.objects.get(user=alice).pk)
    assert api_token_by_plaintext(token) is None
    bob.is_active = False
    bob.save()
    assert api_token_by_plaintext(other) is None


def _authenticate(rf, plaintext: str):
    request = rf.get("/api/whoami", headers={"Authorization": f"Bearer {plaintext}"})
    return BearerTokenAuthentication().authenticate(request)


def test_the_last_use_is_written_at_most_every_few_minutes(
    rf, token, time_machine, django_capture_on_commit_callbacks
):
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    time_machine.move_to(start, tick=False)

    def statements() -> list[str]:
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
        ):
            _authenticate(rf, token)
        return [q["sql"].split()[0].upper() for q in queries.captured_queries]

    assert statements() == ["SELECT", "UPDATE"]  # first use: recorded
    time_machine.move_to(start + LAST_USED_PRECISION - timedelta(seconds=1), tick=False)
    assert statements() == ["SELECT"]  # read again once (it changed): recent, no write
    assert statements() == []  # kept in this process
    assert ApiToken.objects.get().last_used_at == start
    time_machine.move_to(start + LAST_USED_PRECISION, tick=False)
    assert statements() == ["UPDATE"]
    assert ApiToken.objects.get().last_used_at == start + LAST_USED_PRECISION


def test_fetch_row_answers_one_row_or_none(alice, token):
    assert fetch_row("SELECT 1 + %s", [1]) == (2,)
    table = ApiToken._meta.db_table
    assert fetch_row(f"SELECT id FROM {table} WHERE name = %s", ["nothing"]) is None  # noqa: S608


@pytest.mark.postgres
def test_the_token_lookup_is_prepared_after_a_few_calls(token):
    for _ in range(6):
        store.forget()  # read from the database each time
        api_token_by_plaintext(token)

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("accounts_apitoken" in sql for sql in prepared)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_explicit_prepare_threshold_of_none_keeps_statements_unprepared(token):
    options = connection.settings_dict["OPTIONS"]
    before = dict(options)
    options["prepare_threshold"] = None
    try:
        connection.close()  # a new connection and cursor read the option
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")  # reconnects
        for _ in range(6):
            store.forget()  # read from the database each time
            api_token_by_plaintext(token)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements")
            assert cursor.fetchone() == (0,)
    finally:
        options.clear()
        options.update(before)
        connection.close()


@pytest.mark.postgres
def test_logged_runs_take_the_same_path_prepared_and_keep_their_sql(token):
    with CaptureQueriesContext(connection) as queries:
        for _ in range(9):
            store.forget()  # read from the database each time
            api_token_by_plaintext(token)  # prepared after a few, though logged

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("accounts_apitoken" in sql for sql in prepared)
    assert len(queries.captured_queries) == 9
    assert all("accounts_apitoken" in (q["sql"] or "") for q in queries.captured_queries)
    assert all("$1" not in q["sql"] for q in queries.captured_queries)  # values shown


def test_a_token_seen_before_is_found_without_a_query(token, django_assert_num_queries):
    first = api_token_by_plaintext(token)
    with django_assert_num_queries(0):
        again = api_token_by_plaintext(token)

    assert again == first
    assert again is not first
    assert again.user.username == "alice"


def test_a_revoked_token_is_refused_at_once_though_it_was_kept(alice, token, commit):
    found = api_token_by_plaintext(token)

    assert commit(lambda: api_token_revoke(user=alice, token_id=found.pk))

    assert api_token_by_plaintext(token) is None


def test_a_deactivated_members_token_is_refused_at_once(alice, token, commit):
    api_token_by_plaintext(token)
    alice.is_active = False

    commit(alice.save)

    assert api_token_by_plaintext(token) is None
