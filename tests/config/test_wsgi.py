"""The WSGI entry point freezes a worker's heap, so that full garbage collections walk only
what the worker made since (config/wsgi.py says why)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

WORKER = """
import gc, json
import config.wsgi as wsgi
from django.test import Client

at_load = gc.get_freeze_count()
client = Client(HTTP_HOST="localhost")
statuses = {client.get("/healthz/live").status_code for _ in range(wsgi.WARM_REQUESTS)}
print(json.dumps({
    "at_load": at_load,
    "warm": gc.get_freeze_count(),
    "walked": len(gc.get_objects()),
    "statuses": sorted(statuses),
}))
"""


def test_a_worker_freezes_its_heap_when_loaded_and_again_when_warm(tmp_path):
    # The embedded settings (SQLite under VAR_DIR): the probe touches no database.
    env = {"PATH": os.environ["PATH"], "VAR_DIR": str(tmp_path)}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", WORKER], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    heap = json.loads(result.stdout.splitlines()[-1])
    assert heap["statuses"] == [200]
    # Django and the apps, loaded: tens of thousands of objects out of every collection.
    assert heap["at_load"] > 20_000
    # Serving made more, and the second freeze took them too.
    assert heap["warm"] > heap["at_load"]
    # What a full collection still walks is a small part of the heap.
    assert heap["walked"] < heap["warm"] / 10
