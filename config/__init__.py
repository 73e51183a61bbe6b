"""The project package. The Celery app is loaded with Django so `shared_task` binds to it."""

from __future__ import annotations

import os

# One BLAS thread per process, set before numpy loads. A web process answers one request at
# a time and there are several on the box: OpenBLAS's extra threads spin for a while after
# each product and take the cores the other processes need (similar papers, 5 workers on
# 2 cores: p50 31.6 ms with a thread per core, 20.8 ms with one; docs/SEARCH.md).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from config.celery import app as celery_app  # after the BLAS setting

__all__ = ("celery_app",)
