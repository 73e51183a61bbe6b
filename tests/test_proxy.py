"""The full stack's proxy, deploy/nginx.conf, run by Debian's nginx in front of web
processes as `docker compose up --scale web=N` places them: each "container" a gunicorn on
an address of its own (127.0.0.2, 127.0.0.3, ...) and the same port, and `web` a name that
a DNS server of the test's answers with their addresses, as Docker's does.

The config is the file itself, with only what Docker provides put in its place: the
resolver's address, the port nginx listens on and the port the web containers use.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from dnslib import QTYPE, RCODE, RR, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from tests.config.servers import (
    ROOT,
    database_url,
    debian_program,
    django_env,
    free_port,
    gunicorn,
    stop_process,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.REDIS_URL, reason="web processes share state through Redis"),
]
CONFIG = ROOT / "deploy" / "nginx.conf"
CONTAINERS = ("127.0.0.2", "127.0.0.3")
LIMIT = 3  # anonymous API calls a minute, per client address


class Names(BaseResolver):  # type: ignore[misc]
    """Docker's DNS for the test: `web` is every address in `web`, anything else unknown."""

    def __init__(self, web: list[str]) -> None:
        self.web = web

    def resolve(self, request: Any, handler: Any) -> Any:
        reply = request.reply()
        if str(request.q.qname).rstrip(".") == "web" and request.q.qtype == QTYPE.A:
            for address in self.web:
                reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(address), ttl=1))
        else:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


def site_config(*, resolver: str, listen: int, web_port: int) -> str:
    """deploy/nginx.conf with Docker's resolver and the ports replaced, each exactly once."""
    text = CONFIG.read_text()
    for old, new in (
        ("resolver 127.0.0.11 ", f"resolver {resolver} "),
        ("listen 8000;", f"listen 127.0.0.1:{listen};"),
        ("http://web:8000;", f"http://web:{web_port};"),
    ):
        assert text.count(old) == 1, f"deploy/nginx.conf no longer has {old!r} once"
        text = text.replace(old, new)
    return text


@dataclass
class Proxy:
    url: str
    names: Names
    access_log: Path
    containers: dict[str, subprocess.Popen[bytes]]
    container_logs: dict[str, Path]

    def answered_by(self) -> dict[str, set[str]]:
        """The request ids each web container answered through nginx (its access log; the
        probes that waited for it to start came with none)."""
        return {
            address: {
                line.split()[0]
                for line in log.read_text().splitlines()
                if line.strip() and not line.startswith("-")
            }
            for address, log in self.container_logs.items()
        }


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[Proxy]:
    nginx = debian_program("nginx", "nginx-light")
    web_port, listen, dns_port = free_port(), free_port(), free_port()
    names = Names([CONTAINERS[0]])
    dns = DNSServer(
        names, port=dns_port, address="127.0.0.1", logger=DNSLogger("-recv,-send,-request,-reply")
    )
    env = django_env(
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
        VAR_DIR=str(tmp_path / "var"),
        DEBUG="false",
        SECRET_KEY="proxy-test-" + "k" * 50,
        ALLOWED_HOSTS=",".join(["127.0.0.1", *CONTAINERS]),
        # As docker-compose.yml sets them for web.
        TRUSTED_PROXY_COUNT="1",
        API_THROTTLE_ANON=f"{LIMIT}/min",
        CELERY_TASK_ALWAYS_EAGER="true",
        PROMETHEUS_MULTIPROC_DIR=None,
    )
    site = tmp_path / "site.conf"
    site.write_text(site_config(resolver=f"127.0.0.1:{dns_port}", listen=listen, web_port=web_port))
    access_log = tmp_path / "nginx-access.log"
    main = tmp_path / "nginx.conf"
    main.write_text(
        # nginx's own file in the image; what the test needs of it.
        ("user root;\n" if os.geteuid() == 0 else "") + f"pid {tmp_path / 'nginx.pid'};\n"
        f"error_log {tmp_path / 'nginx-error.log'} warn;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"  client_body_temp_path {tmp_path / 'body'};\n"
        f"  proxy_temp_path {tmp_path / 'proxy'};\n"
        f"  fastcgi_temp_path {tmp_path / 'fastcgi'};\n"
        f"  uwsgi_temp_path {tmp_path / 'uwsgi'};\n"
        f"  scgi_temp_path {tmp_path / 'scgi'};\n"
        "  log_format ids '$request_id $remote_addr $status $upstream_addr';\n"
        f"  access_log {access_log} ids;\n"
        f"  include {site};\n"
        "}\n"
    )
    # Production settings serve the static files collected with their hashed names.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    checked = subprocess.run(  # noqa: S603  (Debian's nginx)
        [nginx, "-t", "-c", str(main)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    with ExitStack() as stack:
        dns.start_thread()
        stack.callback(dns.stop)
        containers, logs = {}, {}
        for number, address in enumerate(CONTAINERS):
            logs[address] = tmp_path / f"web-{number}.log"
            containers[address] = stack.enter_context(
                gunicorn(env, ports=[web_port], host=address, access_log=logs[address])
            )
        server = subprocess.Popen(  # noqa: S603
            [nginx, "-c", str(main), "-g", "daemon off;"], stderr=subprocess.PIPE
        )
        stack.callback(stop_process, server, timeout=20)
        url = f"http://127.0.0.1:{listen}"
        wait_for(lambda: answers(url), timeout=20)
        yield Proxy(url, names, access_log, containers, logs)


def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz/live", timeout=5).status_code < 500
    except httpx.HTTPError:
        return False


def wait_for(condition: Callable[[], bool], timeout: float) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "timed out"
        time.sleep(0.1)
    return time.monotonic() - started


def browser(address: str = "127.0.0.1", **headers: str) -> httpx.Client:
    """A client connecting from `address` (any loopback address), behind a TLS proxy that
    says so, as the README's deployment has one in front of ours."""
    return httpx.Client(
        transport=httpx.HTTPTransport(local_address=address),
        headers={"X-Forwarded-Proto": "https", **headers},
        timeout=30,
    )


def test_the_proxy_passes_scheme_host_client_and_request_id(proxy):
    # No proxy in front: the scheme is ours (http), and production sends the browser to https.
    plain = httpx.get(f"{proxy.url}/papers", timeout=30)
    assert plain.status_code == HTTPStatus.MOVED_PERMANENTLY
    assert plain.headers["location"].startswith("https://127.0.0.1:")

    with browser() as reader:
        page = reader.get(f"{proxy.url}/papers")
        assert page.status_code == HTTPStatus.OK
        # The id nginx gave the request is the one the site logged and answered with.
        request_id = page.headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", request_id)
        # (each logs a request once its answer is sent)
        wait_for(lambda: request_id in proxy.access_log.read_text(), timeout=5)
        wait_for(lambda: request_id in proxy.answered_by()[CONTAINERS[0]], timeout=5)

        # The browser's Host reaches Django: a form posted with its Origin passes CSRF.
        form = reader.get(f"{proxy.url}/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token, "no CSRF token in the sign-in form"
        # Its cookie is Secure: a browser behind TLS sends it back, httpx over http would not.
        cookie = form.cookies["csrftoken"]
        signed = reader.post(
            f"{proxy.url}/accounts/login/",
            data={"csrfmiddlewaretoken": token[1], "login": "nobody@example.org", "password": "x"},
            headers={
                "Origin": f"https://{proxy.url.removeprefix('http://')}",
                "Cookie": f"csrftoken={cookie}",
            },
        )
        assert signed.status_code == HTTPStatus.OK  # the form again, with its error; not 403
        assert "not correct" in signed.text


def test_the_api_limit_counts_the_address_nginx_saw(proxy):
    api = f"{proxy.url}/api/daily_papers"
    with browser("127.0.0.5") as greedy:
        statuses = [greedy.get(api).status_code for _ in range(LIMIT + 2)]
        assert statuses[:LIMIT] == [HTTPStatus.OK] * LIMIT
        assert statuses[LIMIT:] == [HTTPStatus.TOO_MANY_REQUESTS] * 2
    # An address of its own in X-Forwarded-For does not help: nginx appends the real one.
    with browser("127.0.0.5", **{"X-Forwarded-For": "203.0.113.9"}) as spoofing:
        assert spoofing.get(api).status_code == HTTPStatus.TOO_MANY_REQUESTS
    # Another client has its own allowance.
    with browser("127.0.0.6") as other:
        assert other.get(api).status_code == HTTPStatus.OK
    wait_for(lambda: " 127.0.0.6 200 " in proxy.access_log.read_text(), timeout=5)
    assert " 127.0.0.5 429 " in proxy.access_log.read_text()


def test_containers_added_and_stopped_are_followed_without_a_restart(proxy):
    # `--scale web=2`: Docker's DNS now answers both; nginx asks again within 10 s.
    proxy.names.web[:] = list(CONTAINERS)
    with browser() as reader:

        def both_answered() -> bool:
            assert reader.get(f"{proxy.url}/healthz/live").status_code == HTTPStatus.OK
            return all(proxy.answered_by().values())

        took = wait_for(both_answered, timeout=30)
        assert took <= 15

        # One container stops (replaced, scaled down) before DNS knows: nginx skips it.
        stop_process(proxy.containers[CONTAINERS[0]], timeout=20)
        before = len(proxy.answered_by()[CONTAINERS[1]])
        statuses = {reader.get(f"{proxy.url}/papers").status_code for _ in range(10)}
        assert statuses == {HTTPStatus.OK}
        wait_for(lambda: len(proxy.answered_by()[CONTAINERS[1]]) == before + 10, timeout=5)
