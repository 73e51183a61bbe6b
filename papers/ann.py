"""The approximate index for large catalogues (VECTOR_INDEX=hnsw): usearch's HNSW graph over
every paper's vector, float16, in one file under VAR_DIR that every process memory-maps
(the system keeps one copy in memory for all of them).

At 100,000 papers the exact search (papers/vectors.py) takes a few milliseconds and stays
the default; at all of arXiv (2.7 million) it takes 85 ms a query and 2.6 GB in each
process, and this graph answers in about a millisecond with recall@10 of 0.98 at
EXPANSION_SEARCH (docs/SEARCH.md). The graph is built by `manage.py build_vector_index`
and again each night; vectors written since its build are searched exactly beside it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from papers.embeddings import DIMENSIONS, MODEL_NAME

CONNECTIVITY = 16  # links per node
EXPANSION_ADD = 128  # candidates weighed when linking a new node
EXPANSION_SEARCH = 256  # candidates weighed per query: recall@10 0.98 at 100,000 papers
BUILD_BLOCK = 50_000


def path() -> Path:
    """The graph file of the current model."""
    name = MODEL_NAME.replace("/", "-")
    return Path(settings.VAR_DIR) / "vectors" / f"{name}.usearch"


def _about(graph_path: Path) -> Path:
    return graph_path.with_suffix(".json")


@dataclass(frozen=True)
class Graph:
    """A built graph, mapped from its file: the papers it holds and when their newest
    vector was written."""

    index: Any  # usearch.index.Index, a view of the file
    covers: datetime | None  # every vector written before this is in the graph (None: empty)
    size: int

    def nearest(self, query: np.ndarray, *, limit: int) -> list[tuple[int, float]]:
        """About the `limit` papers closest to `query` (a unit vector), with their cosine."""
        if limit <= 0 or not self.size:
            return []
        found = self.index.search(query, min(limit, self.size), threads=1)
        return [
            (int(key), 1.0 - float(distance))
            for key, distance in zip(found.keys, found.distances, strict=True)
        ]

    def vectors(self, paper_ids: list[int]) -> dict[int, np.ndarray]:
        """The vectors the graph holds of these papers."""
        if not paper_ids:
            return {}
        keys = np.asarray(paper_ids, dtype=np.uint64)
        held = keys[self.index.contains(keys)]
        if not len(held):
            return {}
        rows = self.index.get(held, dtype=np.float32)
        return {int(key): np.asarray(row) for key, row in zip(held, rows, strict=True)}


def version() -> float | None:
    """The version of the built graph (None when there is none, or it is not used)."""
    if settings.VECTOR_INDEX != "hnsw":
        return None
    try:
        return _about(path()).stat().st_mtime
    except OSError:
        return None


def load() -> Graph | None:
    """The built graph of the current model, mapped (None when VECTOR_INDEX is not "hnsw"
    or nothing was built yet: the exact search then holds every vector)."""
    from usearch.index import Index

    stamp = version()
    if stamp is None:
        return None
    graph_path = path()
    about = json.loads(_about(graph_path).read_text())
    if about.get("model") != MODEL_NAME:
        return None
    index = Index.restore(str(graph_path), view=True, expansion_search=EXPANSION_SEARCH)
    if index is None:
        return None
    covers = about.get("covers")
    return Graph(index, None if covers is None else datetime.fromisoformat(covers), len(index))


def build(
    rows: Iterable[tuple[int, bytes, datetime]],
    *,
    total: int,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Build the graph of these (paper id, vector, written at) rows into its file, in
    place of the last one once complete (readers never see half a graph). The number of
    papers in it."""
    from usearch.index import Index

    index = Index(
        ndim=DIMENSIONS,
        metric="ip",
        dtype="f16",
        connectivity=CONNECTIVITY,
        expansion_add=EXPANSION_ADD,
    )
    covers: datetime | None = None
    done = 0
    for keys, block, newest in _blocks(rows):
        index.add(keys, block, threads=os.cpu_count() or 1)
        covers = newest if covers is None or newest > covers else covers
        done += len(keys)
        if progress is not None:
            progress(done, total)
    graph_path = path()
    graph_path.parent.mkdir(parents=True, exist_ok=True)
    partial = graph_path.with_suffix(".partial")
    index.save(str(partial))
    os.replace(partial, graph_path)
    covered = None if covers is None else covers.isoformat()
    about = {"model": MODEL_NAME, "size": done, "covers": covered}
    written = _about(graph_path).with_suffix(".json.partial")
    written.write_text(json.dumps(about))
    os.replace(written, _about(graph_path))
    return done


def _blocks(
    rows: Iterable[tuple[int, bytes, datetime]],
) -> Iterator[tuple[np.ndarray, np.ndarray, datetime]]:
    """The rows in blocks of BUILD_BLOCK: their ids, float32 vectors and newest time."""
    keys: list[int] = []
    vectors: list[np.ndarray] = []
    newest: datetime | None = None
    for pk, data, written in rows:
        keys.append(pk)
        vectors.append(np.frombuffer(data, dtype=np.float16))
        newest = written if newest is None or written > newest else newest
        if len(keys) == BUILD_BLOCK:
            yield np.asarray(keys, dtype=np.uint64), np.stack(vectors).astype(np.float32), newest
            keys, vectors, newest = [], [], None
    if keys and newest is not None:
        yield np.asarray(keys, dtype=np.uint64), np.stack(vectors).astype(np.float32), newest
