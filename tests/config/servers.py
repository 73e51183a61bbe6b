"""Real servers that the scaling tests start on this machine: a streaming replica of the
test PostgreSQL server, PgBouncer, and gunicorn. Whoever starts one stops it.

PostgreSQL and PgBouncer refuse to run as root: as root, their commands run as the
`postgres` user (runuser), in folders given to it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connections

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def as_postgres(argv: Sequence[str]) -> list[str]:
    """A command run as the `postgres` user when we are root, as us otherwise."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return list(argv)


def give_to_postgres(path: Path) -> Path:
    """A folder the `postgres` user owns (when we are root), private to it."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
    path.chmod(0o700)
    return path


def run(argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a server command; its output is in the error when it fails."""
    result = subprocess.run(  # noqa: S603  (our own commands)
        list(argv), capture_output=True, text=True, cwd="/", check=False, **kwargs
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{result.stdout}{result.stderr}")
    return result


def primary() -> dict[str, Any]:
    """How to reach the test database's server: host, port, user, password."""
    found = connections["default"].settings_dict
    return {
        "host": found["HOST"] or "127.0.0.1",
        "port": int(found["PORT"] or 5432),
        "user": found["USER"] or "postgres",
        "password": found["PASSWORD"] or None,
    }


def database_url(*, port: int | None = None, name: str | None = None) -> str:
    """DATABASE_URL for another process: the test database, or `name`, on the test server
    (or whatever listens at `port` in front of it)."""
    where = primary()
    login = where["user"] + (f":{where['password']}" if where["password"] else "")
    name = name or connections["default"].settings_dict["NAME"]
    host, port = ("127.0.0.1", port) if port else (where["host"], where["port"])
    return f"postgres://{login}@{host}:{port}/{name}"


def sql(query: str, params: Sequence[Any] = (), *, dbname: str = "postgres", **server: Any):
    """Run one statement on a server (the primary unless told), outside Django: its rows."""
    where = {**primary(), **server}
    with psycopg.connect(dbname=dbname, autocommit=True, connect_timeout=5, **where) as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def postgres_bin() -> Path:
    """The binaries of the primary's major version (Debian keeps each under its number)."""
    [(number,)] = sql("SHOW server_version_num")
    found = Path(f"/usr/lib/postgresql/{int(number) // 10000}/bin")
    if not found.is_dir():
        found = Path(run(["pg_config", "--bindir"]).stdout.strip())
    return found


class Replica:
    """A hot standby of the test server, streaming from it through a replication slot."""

    # A hot standby needs at least the primary's values of these.
    _LIMITS = (
        "max_connections",
        "max_worker_processes",
        "max_wal_senders",
        "max_prepared_transactions",
        "max_locks_per_transaction",
    )

    def __init__(self, folder: Path, *, slot: str) -> None:
        self.folder = give_to_postgres(folder)
        self.data = folder / "data"
        self.slot = slot
        self.port = free_port()
        self.bin = postgres_bin()

    def create(self) -> None:
        """Copy the primary (pg_basebackup) and start the copy as a standby."""
        where = primary()
        self.drop_slot()  # a run that was killed may have left it
        run(
            as_postgres(
                [
                    str(self.bin / "pg_basebackup"),
                    f"--host={where['host']}",
                    f"--port={where['port']}",
                    f"--username={where['user']}",
                    f"--pgdata={self.data}",
                    "--write-recovery-conf",
                    "--wal-method=stream",
                    "--create-slot",
                    f"--slot={self.slot}",
                    "--checkpoint=fast",
                    "--no-password",
                ]
            ),
            env={**os.environ, "PGPASSWORD": where["password"] or ""},
        )
        sockets = give_to_postgres(self.folder / "sockets")
        limits = "\n".join(f"{name} = {sql(f'SHOW {name}')[0][0]}" for name in self._LIMITS)
        (self.data / "postgresql.conf").write_text(
            f"port = {self.port}\n"
            "listen_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{sockets}'\n"
            "hot_standby = on\n"
            "fsync = off\n"
            "shared_buffers = 32MB\n"
            # Replay waits at most this long for a standby query that conflicts with it.
            "max_standby_streaming_delay = 1s\n"
            "wal_receiver_status_interval = 1s\n"
            "wal_retrieve_retry_interval = 1s\n"
            f"{limits}\n"
        )
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 trust\n"
        )
        (self.data / "pg_ident.conf").write_text("")
        for name in ("postgresql.conf", "pg_hba.conf", "pg_ident.conf"):
            if os.geteuid() == 0:
                shutil.chown(self.data / name, "postgres", "postgres")
        self.start()

    def start(self) -> None:
        run(
            as_postgres(
                [
                    str(self.bin / "pg_ctl"),
                    f"--pgdata={self.data}",
                    f"--log={self.folder / 'replica.log'}",
                    "--wait",
                    "--timeout=60",
                    "start",
                ]
            )
        )
        self.wait_caught_up()

    def stop(self, mode: str = "fast") -> None:
        run(
            as_postgres(
                [str(self.bin / "pg_ctl"), f"--pgdata={self.data}", f"--mode={mode}", "stop"]
            )
        )

    def running(self) -> bool:
        status = subprocess.run(  # noqa: S603
            as_postgres([str(self.bin / "pg_ctl"), f"--pgdata={self.data}", "status"]),
            capture_output=True,
            cwd="/",
            check=False,
        )
        return status.returncode == 0

    def restore(self) -> None:
        """Running, replaying, and caught up with the primary (after a test stopped or
        paused it)."""
        if not self.running():
            self.start()
        if self.sql("SELECT pg_is_wal_replay_paused()")[0][0]:
            self.sql("SELECT pg_wal_replay_resume()")
        self.wait_caught_up()

    def destroy(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.stop("immediate")
        self.drop_slot()
        shutil.rmtree(self.folder, ignore_errors=True)

    def drop_slot(self) -> None:
        """Drop the slot on the primary (it keeps WAL for the standby while it exists)."""
        deadline = time.monotonic() + 30
        while sql("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", [self.slot]):
            try:
                sql("SELECT pg_drop_replication_slot(%s)", [self.slot])
            except psycopg.errors.ObjectInUse:  # its WAL sender is still ending
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def sql(self, query: str, params: Sequence[Any] = (), *, dbname: str = "postgres"):
        return sql(query, params, dbname=dbname, host="127.0.0.1", port=self.port)

    def pause(self) -> None:
        """Stop replaying what the primary sends (it is still received)."""
        self.sql("SELECT pg_wal_replay_pause()")
        deadline = time.monotonic() + 10
        while self.sql("SELECT pg_get_wal_replay_pause_state()")[0][0] != "paused":
            assert time.monotonic() < deadline, "replay did not pause"
            time.sleep(0.05)

    def resume(self) -> None:
        self.sql("SELECT pg_wal_replay_resume()")
        self.wait_caught_up()

    def wait_caught_up(self, timeout: float = 120) -> None:
        """Until the standby has replayed everything the primary wrote so far, and a
        transaction committed now: what it last replayed is then this recent, whatever
        else the server is busy with (a long transaction commits nothing for a while)."""
        sql("SELECT txid_current()")
        # Where the primary inserts: also what an asynchronous commit wrote, not flushed yet.
        [(target,)] = sql("SELECT pg_current_wal_insert_lsn()::text")
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(psycopg.OperationalError):
                done = self.sql(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn"
                    " AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver)",
                    [target],
                )
                if done[0][0]:
                    return
            if time.monotonic() > deadline:
                log = (self.folder / "replica.log").read_text()[-3000:]
                raise RuntimeError(f"the replica did not catch up; its log ends:\n{log}")
            time.sleep(0.05)

    def database(self) -> dict[str, Any]:
        """A DATABASES entry reading the test database on this standby, as settings.py
        makes one from DATABASE_REPLICA_URLS."""
        default = connections["default"].settings_dict
        return {
            **default,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "OPTIONS": {**default["OPTIONS"], "connect_timeout": 2},
            "TEST": {**default["TEST"], "MIRROR": "default"},
        }


def debian_program(name: str, package: str) -> str:
    """The path of a program from Debian's packages; a test that needs it fails in CI
    (`.ci/run` installs it) and is skipped elsewhere when it is missing."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail(f"{name} is missing: install Debian's {package} package")
    pytest.skip(f"{name} is not installed (apt-get install {package})")


class PgBouncer:
    """PgBouncer in front of the test server, handing out server connections per
    transaction, at most `pool_size` per database."""

    def __init__(self, folder: Path, *, pool_size: int) -> None:
        self.folder = give_to_postgres(folder)
        self.port = free_port()
        where = primary()
        (folder / "users.txt").write_text(f'"{where["user"]}" ""\n')
        self.ini = folder / "pgbouncer.ini"
        self.ini.write_text(
            "[databases]\n"
            f"* = host={where['host']} port={where['port']}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {folder / 'users.txt'}\n"
            f"admin_users = {where['user']}\n"
            "pool_mode = transaction\n"
            # Each transaction to the server connection used longest ago: state a client
            # left on one (a prepared statement, a cursor) is then missing at its next.
            "server_round_robin = 1\n"
            f"default_pool_size = {pool_size}\n"
            "min_pool_size = 0\n"
            "reserve_pool_size = 0\n"
            "max_client_conn = 500\n"
            f"logfile = {folder / 'pgbouncer.log'}\n"
        )
        for path in (folder / "users.txt", self.ini):
            if os.geteuid() == 0:
                shutil.chown(path, "postgres", "postgres")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = debian_program("pgbouncer", "pgbouncer")
        self.process = subprocess.Popen(  # noqa: S603  (Debian's pgbouncer)
            as_postgres([binary, str(self.ini)]),
            cwd="/",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = (self.folder / "pgbouncer.log").read_text()[-3000:]
                    raise RuntimeError(f"PgBouncer did not start:\n{log}") from None
                time.sleep(0.1)

    def show(self, what: str) -> list[dict[str, str]]:
        """A SHOW command of the admin console (simple protocol only: psql)."""
        where = primary()
        out = run(
            [
                "psql",
                "--host=127.0.0.1",
                f"--port={self.port}",
                f"--username={where['user']}",
                "--no-psqlrc",
                "--csv",
                f"--command=SHOW {what}",
                "pgbouncer",
            ]
        ).stdout.splitlines()
        return [dict(zip(out[0].split(","), line.split(","), strict=False)) for line in out[1:]]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            stop_process(self.process, timeout=15)  # runuser hands the signal on


def django_env(**env: str) -> dict[str, str]:
    """The environment of a Django process started by a test: this one's, with `env`."""
    found = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_LEVEL": "WARNING"}
    found.update(env)
    return {name: value for name, value in found.items() if value is not None}


@contextlib.contextmanager
def gunicorn(
    env: dict[str, str],
    *,
    ports: Sequence[int],
    workers: int = 1,
    threads: int = 1,
    reuse_port: bool = False,
    access_log: Path | None = None,
    host: str = "127.0.0.1",
) -> Iterator[subprocess.Popen[bytes]]:
    """A gunicorn serving the site on `host` (any loopback address) at `ports` until the
    block ends. Several with `reuse_port` share a port, the kernel spreading connections
    over them."""
    argv = [
        str(Path(sys.executable).with_name("gunicorn")),
        "config.wsgi",
        f"--workers={workers}",
        f"--threads={threads}",
        *[f"--bind={host}:{port}" for port in ports],
        "--log-level=warning",
    ]
    if reuse_port:
        argv.append("--reuse-port")
    if access_log is not None:
        # The request id each request was sent with, to tell which process answered it.
        argv += [f"--access-logfile={access_log}", "--access-logformat=%({x-request-id}i)s %(s)s"]
    server = subprocess.Popen(argv, env=env, cwd=ROOT)  # noqa: S603  (gunicorn from this venv)
    try:
        wait_until_serving(f"http://{host}:{ports[-1]}", server=server)
        yield server
    finally:
        stop_process(server, timeout=30)


def stop_process(process: subprocess.Popen[bytes], *, timeout: float) -> None:
    """SIGTERM, and SIGKILL if it has not ended within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


def wait_until_serving(base: str, *, server: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            # As a TLS proxy in front would say: production settings redirect plain HTTP.
            probe = urllib.request.Request(  # noqa: S310  (http to the test's server)
                f"{base}/healthz/live", headers={"X-Forwarded-Proto": "https"}
            )
            urllib.request.urlopen(probe, timeout=5)  # noqa: S310
            return
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {server.returncode}") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
