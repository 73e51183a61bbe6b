"""Search by meaning: every paper's vector in one matrix per process, exact nearest
neighbours with numpy, and the fusion of full-text and vector rankings.

The matrix is float32, normalised, 1 KB a paper (100 MB at 100,000 papers); a cosine is a
dot product, and one query against 100,000 papers is one matrix-vector product (a few
milliseconds: docs/SEARCH.md). It is loaded on first use and kept up to date from the rows
written since: each write announces the `embeddings` scope, and a process that sees it
changed reads only the newer rows.

With VECTOR_INDEX=hnsw and a built graph (papers/ann.py, for millions of papers), the
matrix holds only the vectors written since the graph was built, and a query asks both.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from caching import announce
from caching.generations import Stamp, generations
from caching.store import CACHE_DOWN, LRU
from papers import ann
from papers.embeddings import DIMENSIONS, EMBEDDINGS_SCOPE, MODEL_NAME, embed_texts
from papers.models import PaperEmbedding

RRF_K = 60  # reciprocal rank fusion: 1 / (k + rank), as Cormack et al. (2009)
RECHECK_SECONDS = 5.0  # without the shared cache, how often the index looks for new rows
QUERY_VECTORS_BYTES = 4 * 2**20
REREAD_MARGIN = timedelta(minutes=5)
LOAD_BLOCK = 10_000


@dataclass
class Index:
    ids: np.ndarray  # int64 (n,): paper ids, row by row
    matrix: np.ndarray  # float32 (n, DIMENSIONS)
    rows: dict[int, int]  # paper id -> row
    seen: datetime | None  # the newest row read
    stamp: Stamp | None = None
    checked: float = 0.0
    graph: ann.Graph | None = None  # the vectors written before `graph.covers`
    graph_version: float | None = None  # of the graph file when this index was made

    @classmethod
    def empty(cls, graph_version: float | None = None) -> Index:
        graph = ann.load() if graph_version is not None else None
        return cls(
            np.empty(0, np.int64),
            np.empty((0, DIMENSIONS), np.float32),
            {},
            None if graph is None else graph.covers,
            graph=graph,
            graph_version=graph_version,
        )

    def add(self, rows: Iterable[tuple[int, bytes, datetime]]) -> None:
        """Add these (paper id, vector, written at) rows, replacing a paper's older one.
        New rows are copied straight into float32 blocks of LOAD_BLOCK rows, then joined to
        the matrix once: loading 100,000 vectors costs little more than the matrix."""
        ids: list[int] = []
        blocks: list[np.ndarray] = []
        block = np.empty((0, DIMENSIONS), np.float32)
        filled = 0
        for pk, data, written in rows:
            vector = np.frombuffer(data, dtype=np.float16)
            if self.seen is None or written > self.seen:
                self.seen = written
            if pk in self.rows:
                self.matrix[self.rows[pk]] = vector
                continue
            if filled == len(block):
                block = np.empty((LOAD_BLOCK, DIMENSIONS), np.float32)
                blocks.append(block)
                filled = 0
            block[filled] = vector
            filled += 1
            ids.append(pk)
        if not ids:
            return
        blocks[-1] = blocks[-1][:filled]
        start = len(self.ids)
        self.matrix = np.concatenate([self.matrix, *blocks])
        self.ids = np.concatenate([self.ids, np.asarray(ids, dtype=np.int64)])
        for offset, pk in enumerate(ids):
            self.rows[pk] = start + offset

    def vector(self, paper_id: int) -> np.ndarray | None:
        return self.vectors([paper_id]).get(paper_id)

    def stacked(self, paper_ids: Iterable[int]) -> tuple[list[int], np.ndarray]:
        """Those of these papers that have a vector, in their order, and their vectors as
        one matrix (a row each): one gather from the matrix when the graph is not used."""
        wanted = list(paper_ids)
        if self.graph is None:
            here = [pk for pk in wanted if pk in self.rows]
            rows = np.fromiter((self.rows[pk] for pk in here), dtype=np.int64, count=len(here))
            return here, self.matrix[rows]
        found = self.vectors(wanted)
        kept = [pk for pk in wanted if pk in found]
        if not kept:
            return [], np.empty((0, DIMENSIONS), np.float32)
        return kept, np.stack([found[pk] for pk in kept])

    def vectors(self, paper_ids: Iterable[int]) -> dict[int, np.ndarray]:
        """The vectors of those of these papers that have one."""
        wanted = list(paper_ids)
        found = {pk: self.matrix[self.rows[pk]] for pk in wanted if pk in self.rows}
        if self.graph is not None:
            rest = [pk for pk in wanted if pk not in found]
            found.update(self.graph.vectors(rest))
        return found

    def nearest(
        self, query: np.ndarray, *, limit: int, exclude: int | None = None
    ) -> list[tuple[int, float]]:
        """The `limit` papers closest to `query` (a unit vector), closest first, with their
        cosine."""
        if limit <= 0:
            return []
        found = self._nearest_here(query, limit=limit, exclude=exclude)
        if self.graph is None:
            return found
        # A paper whose vector changed since the build is here too: this copy counts.
        graph = [
            (pk, score)
            for pk, score in self.graph.nearest(query, limit=limit + 1 + len(found))
            if pk not in self.rows and pk != exclude
        ]
        return sorted(found + graph, key=lambda item: -item[1])[:limit]

    def _nearest_here(
        self, query: np.ndarray, *, limit: int, exclude: int | None
    ) -> list[tuple[int, float]]:
        if not len(self.ids):
            return []
        scores = self.matrix @ query
        if exclude is not None and exclude in self.rows:
            scores[self.rows[exclude]] = -np.inf
        take = min(limit, len(scores))
        top = np.argpartition(-scores, take - 1)[:take]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.ids[i]), float(scores[i])) for i in top if np.isfinite(scores[i])]


_index = Index.empty()
_lock = threading.Lock()
_query_vectors: LRU[str, np.ndarray] = LRU(QUERY_VECTORS_BYTES)


def _rows_since(seen: datetime | None) -> Iterator[tuple[int, bytes, datetime]]:
    """The vectors written since `seen`, with a margin (a batch's rows carry the time it
    began and may commit after a later batch's), read in chunks."""
    rows = PaperEmbedding.objects.filter(model=MODEL_NAME)
    if seen is not None:
        rows = rows.filter(updated_at__gte=seen - REREAD_MARGIN)
    found = rows.order_by("updated_at").values_list("paper_id", "vector", "updated_at")
    for pk, data, written in found.iterator(chunk_size=LOAD_BLOCK):
        yield pk, bytes(data), written


def _give_back_memory() -> None:
    """Hand the heap that loading freed (100,000 rows read as small objects) back to the
    system: without it a web process keeps about twice the matrix (glibc only)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def index() -> Index:
    """This process's index, brought up to date when vectors were written since."""
    global _index
    with _lock:
        current = _index
        now = time.monotonic()
        try:
            stamp: Stamp | None = generations.stamp(EMBEDDINGS_SCOPE)
            stale = stamp != current.stamp or not current.checked
        except CACHE_DOWN:
            stamp = None
            stale = now - current.checked > RECHECK_SECONDS
        if stale:
            built = ann.version()
            if built != current.graph_version:
                current = _index = Index.empty(built)  # a new graph: read what it lacks
            loaded = len(current.ids)
            current.add(_rows_since(current.seen))
            if len(current.ids) - loaded >= LOAD_BLOCK:
                _give_back_memory()
            current.stamp = stamp
            current.checked = now
        return current


def build_graph(progress: Callable[[int, int], None] | None = None) -> int:
    """Build the approximate index of every vector (VECTOR_INDEX=hnsw: papers/ann.py), and
    have every process take it up. The number of papers in it."""
    total = PaperEmbedding.objects.filter(model=MODEL_NAME).count()
    size = ann.build(_rows_since(None), total=total, progress=progress)
    announce(soft={EMBEDDINGS_SCOPE})
    return size


def forget() -> None:
    """Drop this process's index (tests: each starts with an empty database)."""
    global _index, _query_vectors
    with _lock:
        _index = Index.empty()
        _query_vectors = LRU(QUERY_VECTORS_BYTES)


def query_vector(text: str) -> np.ndarray:
    text = " ".join(text.split())[:1000]
    kept = _query_vectors.get(text)
    if kept is None:
        kept = embed_texts([text])[0]
        _query_vectors.put(text, kept, kept.nbytes + len(text) + 64)
    return kept


_helper: tuple[int, ThreadPoolExecutor] | None = None


def _background() -> ThreadPoolExecutor:
    """This process's one helper thread (a forked process makes its own)."""
    global _helper
    with _lock:
        if _helper is None or _helper[0] != os.getpid():
            _helper = (os.getpid(), ThreadPoolExecutor(1, thread_name_prefix="vectors"))
        return _helper[1]


def semantic_ids_soon(text: str, *, limit: int, min_score: float) -> Callable[[], list[int]]:
    """The papers whose vectors are closest to the text's, at least `min_score` close,
    found by a helper thread while the caller goes on (the full-text query of a hybrid
    search): the product with the matrix runs without the GIL. Call the
    result for the ids. The index is brought up to date here, in the caller's thread, which
    holds the database connection."""
    vector = query_vector(text)
    if not vector.any():
        return list
    found = index()
    future = _background().submit(found.nearest, vector, limit=limit)
    return lambda: [pk for pk, score in future.result() if score >= min_score]


def similar_ids(paper_id: int, *, limit: int) -> list[int]:
    """The papers closest to this one, by their vectors (none when it has no vector yet)."""
    found = index()
    vector = found.vector(paper_id)
    if vector is None:
        return []
    return [pk for pk, _score in found.nearest(vector, limit=limit, exclude=paper_id)]


def fuse(*rankings: Sequence[int], k: int = RRF_K) -> list[int]:
    """Reciprocal rank fusion: each ranking gives a paper 1 / (k + its rank); the papers
    by their summed score, ties in the order of the first ranking they appear in."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, pk in enumerate(ranking, start=1):
            scores[pk] = scores.get(pk, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=lambda pk: -scores[pk])
