"""Real servers that the scaling tests start on this machine: PgBouncer in front of the
test PostgreSQL server, and gunicorn. Whoever starts one stops it.

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
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
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
            self.process.terminate()  # runuser hands the signal on
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


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
) -> Iterator[subprocess.Popen[bytes]]:
    """A gunicorn serving the site on 127.0.0.1 at `ports` until the block ends. Several
    with `reuse_port` share a port, the kernel spreading connections over them."""
    argv = [
        str(Path(sys.executable).with_name("gunicorn")),
        "config.wsgi",
        f"--workers={workers}",
        f"--threads={threads}",
        *[f"--bind=127.0.0.1:{port}" for port in ports],
        "--log-level=warning",
    ]
    if reuse_port:
        argv.append("--reuse-port")
    if access_log is not None:
        # The request id each request was sent with, to tell which process answered it.
        argv += [f"--access-logfile={access_log}", "--access-logformat=%({x-request-id}i)s %(s)s"]
    server = subprocess.Popen(argv, env=env, cwd=ROOT)  # noqa: S603  (gunicorn from this venv)
    try:
        wait_until_serving(f"http://127.0.0.1:{ports[-1]}", server=server)
        yield server
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)


def wait_until_serving(base: str, *, server: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{base}/healthz/live", timeout=5)  # noqa: S310
            return
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {server.returncode}") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
