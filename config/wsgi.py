"""WSGI entry point for gunicorn.

Each worker freezes its heap twice, so that Python's full garbage collections stop pausing
requests. A full collection walks every container object the process holds: about 125,000
once Django, the apps and the embedding model are loaded, 30,000 more once the worker has
served each kind of page. In a warmed worker under wrk, one full collection used 72 ms of
CPU, and the five workers, which allocate alike, collected in the same second: every
worker stopped at once, and on two cores, shared with a data load, one pause lasted 840 ms
(bench/gunicorn_gc.py notes them; docs/SCALE.md sets them beside each p99). Frozen objects
are left out of every collection (`gc.freeze`); they are still freed as usual when nothing
refers to them, only a cycle among them would stay. So the heap is frozen when the
application is loaded, and again, after one full collection, once the worker has served
WARM_REQUESTS requests; after that a full collection walks only what the worker made
since, and took 1 ms of CPU.
"""

from __future__ import annotations

import gc
import os
from typing import Any

from django.core.signals import request_finished
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

WARM_REQUESTS = 300

application = get_wsgi_application()
gc.freeze()

_served = 0


def _freeze_when_warm(**kwargs: Any) -> None:
    global _served
    _served += 1
    if _served == WARM_REQUESTS:
        request_finished.disconnect(_freeze_when_warm)
        gc.collect()
        gc.freeze()


request_finished.connect(_freeze_when_warm)
