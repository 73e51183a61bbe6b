"""Paper embeddings: what a paper is about as a vector, so that search and "similar papers"
find meaning and not only words.

The model is WordLlama's `l2_supercat` at 256 dimensions: a static embedding per token
(Llama 2's tokenizer) averaged over the text, shipped inside the `wordllama` wheel (16 MB
of weights and the tokenizer). It is loaded from those files directly with `safetensors`
and `tokenizers`: nothing is downloaded, ever (WordLlama's own loader would look for the
tokenizer elsewhere and then fetch it). It embeds about 1,600 title+abstract texts a second
on one core.

Vectors are stored normalised, as float16 (512 bytes a paper), with the model's name: a
different model re-embeds every paper (`manage.py embed_papers`).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from caching import announce
from papers.models import Paper, PaperEmbedding

if TYPE_CHECKING:
    from tokenizers import Tokenizer

DIMENSIONS = 256
MODEL_NAME = "wordllama-0.4/l2_supercat_256"
WEIGHTS = "weights/l2_supercat_256.safetensors"
TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"
MAX_TOKENS = 512  # a title and an abstract fit; longer texts are cut
BATCH = 256  # papers embedded and written at a time
EMBEDDINGS_SCOPE = "embeddings"  # announced when vectors are written: indexes load them


class Model:
    """The token embeddings and the tokenizer: `embed` turns texts into unit vectors."""

    def __init__(self, table: np.ndarray, tokenizer: Tokenizer) -> None:
        self.table = np.ascontiguousarray(table, dtype=np.float32)
        self.tokenizer = tokenizer
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One normalised float32 vector per text (zeros for a text with no tokens): the
        mean of its tokens' embeddings, as WordLlama pools them."""
        out = np.zeros((len(texts), self.table.shape[1]), dtype=np.float32)
        if not texts:
            return out
        encoded = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        lengths = np.fromiter((len(e.ids) for e in encoded), dtype=np.int64, count=len(texts))
        filled = lengths > 0
        if not filled.any():
            return out
        ids = np.fromiter(
            (i for e in encoded for i in e.ids), dtype=np.int64, count=int(lengths.sum())
        )
        np.clip(ids, 0, self.table.shape[0] - 1, out=ids)
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))[filled]
        sums = np.add.reduceat(self.table[ids], starts, axis=0)
        means = sums / lengths[filled, None]
        norms = np.linalg.norm(means, axis=1, keepdims=True)
        out[filled] = means / np.maximum(norms, 1e-12)
        return out


def package_files() -> tuple[Path, Path]:
    """The weights and the tokenizer inside the installed `wordllama` package."""
    spec = importlib.util.find_spec("wordllama")
    if spec is None or spec.origin is None:
        raise RuntimeError("The `wordllama` package is not installed: pip install wordllama")
    root = Path(spec.origin).parent
    return root / WEIGHTS, root / TOKENIZER


@functools.cache
def model() -> Model:
    """The model, loaded once per process from the package's own files."""
    from safetensors import safe_open
    from tokenizers import Tokenizer

    weights, tokenizer = package_files()
    with safe_open(str(weights), framework="np") as tensors:
        table = tensors.get_tensor("embedding.weight")
    return Model(table, Tokenizer.from_file(str(tokenizer)))


def paper_text(title: str, abstract: str) -> str:
    return f"{' '.join(title.split())}. {' '.join(abstract.split())}"


def embed_texts(texts: Sequence[str]) -> np.ndarray:
    return model().embed(texts)


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float16).tobytes()


def text_digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def stale_ids(*, limit: int, after: int = 0) -> list[int]:
    """Ids of papers (in id order, after `after`) with no vector by the current model, or
    changed since theirs was made (embed_papers skips those whose text is the same)."""
    stale = (
        Q(embedding__isnull=True)
        | ~Q(embedding__model=MODEL_NAME)
        | Q(updated_at__gt=F("embedding__updated_at"))
    )
    rows = Paper.objects.filter(stale, pk__gt=after).order_by("pk")
    return list(rows.values_list("pk", flat=True)[:limit])


def embed_papers(paper_ids: Iterable[int]) -> int:
    """Embed these papers with the current model and store their vectors, BATCH at a time
    (each batch one transaction). A paper whose text and model did not change keeps its
    vector (only its time is moved on). The count of vectors written."""
    ids = list(paper_ids)
    written = 0
    for start in range(0, len(ids), BATCH):
        rows = list(
            Paper.objects.filter(pk__in=ids[start : start + BATCH]).values_list(
                "pk", "title", "abstract", "embedding__model", "embedding__digest"
            )
        )
        now = timezone.now()
        todo: list[tuple[int, str, str]] = []
        same: list[int] = []
        for pk, title, abstract, model_name, digest in rows:
            text = paper_text(title, abstract)
            new_digest = text_digest(text)
            if model_name == MODEL_NAME and digest == new_digest:
                same.append(pk)
            else:
                todo.append((pk, text, new_digest))
        vectors = embed_texts([text for _pk, text, _digest in todo])
        made = [
            PaperEmbedding(
                paper_id=pk,
                model=MODEL_NAME,
                digest=digest,
                vector=to_bytes(vector),
                updated_at=now,
            )
            for (pk, _text, digest), vector in zip(todo, vectors, strict=True)
        ]
        with transaction.atomic():
            if made:
                PaperEmbedding.objects.bulk_create(
                    made,
                    update_conflicts=True,
                    unique_fields=["paper"],
                    update_fields=["model", "digest", "vector", "updated_at"],
                )
            if same:
                PaperEmbedding.objects.filter(paper_id__in=same).update(updated_at=now)
        written += len(made)
    if written:
        announce(soft={EMBEDDINGS_SCOPE})  # once committed
    return written


def embed_stale(*, progress: Callable[[int, int], None] | None = None) -> int:
    """Embed every paper that needs it, in id order (a stopped run resumes where it
    stopped: what it wrote is not stale any more). The count of vectors written."""
    total = Paper.objects.count()
    written = done = after = 0
    while ids := stale_ids(limit=BATCH * 8, after=after):
        written += embed_papers(ids)
        done += len(ids)
        after = ids[-1]
        if progress is not None:
            progress(done, total)
    return written
