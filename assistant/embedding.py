"""Mean-pooling sentence embedders: the vectors sentence-transformers computes, without importing it.

A sentence-transformers model that is a transformer, mean pooling and Normalize needs none of that
library (nor sklearn and scipy, which it imports): the mean of the token states under the attention
mask, at unit length. A plain BERT (the default MiniLM) runs on ONNX Runtime from a graph built out of
its weights (assistant/onnxbert.py); other models (all-mpnet-base-v2) on transformers and torch.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import PrivateAttr

from . import onnxbert
from .errors import ConfigError

SMALL_INPUT = 4  # texts; a query, or a couple of sentences: run on one thread
HF_EXTRA = "install the extra for other local models: pip install 'abstract-assistant[hf]'"

# token states (batch, length, dim), attention mask (batch, length), character offsets (batch, length, 2)
Encoded = tuple[np.ndarray, np.ndarray, np.ndarray]


class Tokens(Protocol):
    """One text's word pieces (specials included, cut at the window): tokenizers' Encoding has these."""

    @property
    def ids(self) -> list[int]: ...

    @property
    def offsets(self) -> list[tuple[int, int]]: ...


class _Pieces(NamedTuple):
    ids: list[int]
    offsets: list[tuple[int, int]]


@dataclass(frozen=True)
class Encoder:
    """Texts -> token states in two steps, so texts are ordered by their word-piece count, not their
    characters, before they are batched: a batch is padded to its longest text, and the chunks of 1,500
    bench papers (groups of 64) were padded by 21 % in batches of 32 ordered by characters, 14 % by
    word pieces. Each text is tokenized once: the padded batches are built here."""

    tokenize: Callable[[list[str]], Sequence[Tokens]]  # unpadded
    run: Callable[[np.ndarray, np.ndarray, bool], np.ndarray]  # ids, mask, small -> states
    pad_id: int
    ask: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None  # a question's states, if not `run`'s

    def pad(self, tokens: Sequence[Tokens]) -> tuple[np.ndarray, np.ndarray]:
        """Ids and attention mask, padded to the longest text."""
        lengths = [len(t.ids) for t in tokens]
        ids = np.full((len(tokens), max(lengths, default=0)), self.pad_id, dtype=np.int64)
        mask = np.zeros(ids.shape, dtype=np.int64)
        for row, (t, n) in enumerate(zip(tokens, lengths)):
            ids[row, :n] = t.ids
            mask[row, :n] = 1
        return ids, mask

    def __call__(self, texts: list[str], small: bool) -> Encoded:
        tokens = self.tokenize(texts)
        ids, mask = self.pad(tokens)
        offsets = np.zeros((*ids.shape, 2), dtype=np.int64)
        for row, t in enumerate(tokens):
            offsets[row, : len(t.ids)] = np.asarray(t.offsets, dtype=np.int64).reshape(-1, 2)
        return self.run(ids, mask, small), mask, offsets


_one_thread = threading.Lock()


def plain_mean_pooling(path: Path) -> bool:
    """Whether a sentence-transformers model is just a transformer, mean pooling and (optionally) Normalize."""
    try:
        modules = [m["type"].rsplit(".", 1)[-1] for m in json.loads((path / "modules.json").read_text())]
        pooling = json.loads((path / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError, KeyError):
        return False
    flags = {k: v for k, v in pooling.items() if k.startswith("pooling_mode")}
    mean_only = flags.get("pooling_mode_mean_tokens") is True and not any(v for k, v in flags.items() if k != "pooling_mode_mean_tokens")
    return modules in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]) and mean_only


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=-1, keepdims=True), 1e-12)


class MeanPoolEmbedding(BaseEmbedding):
    """A LlamaIndex embedding over an Encoder, plus span vectors from the same forward pass."""

    _encoder: Any = PrivateAttr()

    def __init__(self, name: str, encoder: Encoder, embed_batch_size: int) -> None:
        super().__init__(model_name=name, embed_batch_size=embed_batch_size)
        self._encoder = encoder

    @classmethod
    def class_name(cls) -> str:
        return "MeanPoolEmbedding"

    def _encode(self, texts: list[str], question: bool = False) -> list[list[float]]:
        return [vector for vector, _ in self.embed_with_spans(texts, [[] for _ in texts], question)]

    def embed_with_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]], question: bool = False
    ) -> list[tuple[list[float], list[list[float] | None]]]:
        """Each text's vector and, from the same forward pass, one vector per character span (the
        mean of the span's token states; None when truncation cut the span off). The indexer uses
        it for sentence vectors: one pass per chunk instead of one more per sentence halves ingest.
        `question`: the texts are questions, embedded with the encoder's question graph if it has one."""
        encoder: Encoder = self._encoder
        tokens = encoder.tokenize(texts)
        out: list[tuple[list[float], list[list[float] | None]]] = [([], []) for _ in texts]
        order = sorted(range(len(texts)), key=lambda i: -len(tokens[i].ids))  # similar lengths pad least
        small = len(texts) <= SMALL_INPUT
        for start in range(0, len(order), self.embed_batch_size):
            ids = order[start : start + self.embed_batch_size]
            batch, mask = encoder.pad([tokens[i] for i in ids])
            states = encoder.ask(batch, mask) if question and encoder.ask else encoder.run(batch, mask, small)
            weights = mask[..., None].astype(states.dtype)
            pooled = _unit((states * weights).sum(1) / np.maximum(weights.sum(1), 1e-9))
            for row, i in enumerate(ids):
                out[i] = (pooled[row].tolist(), span_vectors(states[row], tokens[i].offsets, spans[i]) if spans[i] else [])
        return out

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._encode([query], question=True)[0]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._encode([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._encode(texts)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


def span_vectors(states: np.ndarray, offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]]) -> list[list[float] | None]:
    """Unit means of the token states inside each character span of one text (None: the window cut it).

    A span's tokens are the real ones (non-empty offsets) starting at or after its start and ending
    at or before its end: a run, as offsets only grow, so each is a slice found by binary search, and
    the means and norms are the bits the boolean-mask version (below) computed. np.add.reduceat over
    all spans at once was not: 4e-8 off, for no time worth having.
    """
    at = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    real = np.flatnonzero(at[:, 1] > at[:, 0])  # [CLS], [SEP] and padding have empty offsets
    begin, end = at[real, 0], at[real, 1]
    if not len(real) or np.any(np.diff(begin) < 0) or np.any(np.diff(end) < 0):
        return _span_vectors_masked(states, at, spans)
    a, b = np.asarray(spans, dtype=np.int64).reshape(-1, 2).T
    lo, hi = np.searchsorted(begin, a, "left").tolist(), np.searchsorted(end, b, "right").tolist()
    read_to, inside = int(end.max()), states[real]
    whole = [k for k in range(len(lo)) if hi[k] > lo[k] and read_to >= b[k]]
    parts: list[list[float] | None] = [None] * len(lo)
    if whole:
        means = np.stack([inside[lo[k] : hi[k]].mean(0) for k in whole])
        for k, vector in zip(whole, _unit(means).tolist()):
            parts[k] = vector
    return parts


def _span_vectors_masked(states: np.ndarray, at: np.ndarray, spans: Sequence[tuple[int, int]]) -> list[list[float] | None]:
    """span_vectors by one boolean mask per span, for offsets that do not grow (none seen so far)."""
    begin, end = at[:, 0], at[:, 1]
    real = end > begin
    read_to = int(end[real].max()) if real.any() else 0
    parts: list[list[float] | None] = []
    for a, b in spans:
        inside = real & (begin >= a) & (end <= b)
        whole = bool(inside.any()) and read_to >= b
        parts.append(_unit(states[inside].mean(0)).tolist() if whole else None)
    return parts


def _tokenizer(path: Path, window: int) -> Any:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=window)
    tokenizer.no_padding()  # Encoder.pad pads each batch once it is ordered
    return tokenizer


def onnx_encoder(path: Path, window: int, precision: onnxbert.Precision, cache_dir: Path) -> Encoder | None:
    """texts -> Encoded on ONNX Runtime, or None if the model is not a plain BERT with a tokenizer.json.
    Small inputs run on a one-thread session: one query gains nothing from intra-op threads, and when
    the cores are busy every parallel op waits for a descheduled worker (benchmarks/RESULTS.md)."""
    if not (onnxbert.supports(path) and (path / "tokenizer.json").exists()):
        return None
    tokenizer = _tokenizer(path, window)
    encoder = onnxbert.OnnxEncoder(onnxbert.graph_file(path, precision, cache_dir))  # sessions open on first use
    questions = onnxbert.query_graph(precision)
    asker = onnxbert.OnnxEncoder(onnxbert.graph_file(path, questions, cache_dir)) if questions != precision else None

    def run(ids: np.ndarray, mask: np.ndarray, small: bool) -> np.ndarray:
        # At int8, dynamic quantisation scales each MatMul's input by the range of the whole call, so a vector
        # depends slightly on its batch-mates (ingest batches are ordered by length, so the same papers get
        # the same vectors). One text a call avoids that but was 1.36x fp32's speed against 1.64x at 8 a call
        # (222 seed abstracts, two threads, six interleaved rounds), under the 1.52x the ingest target needs.
        return encoder(ids, mask, threads=1 if small else 0)

    def ask(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return asker(ids, mask, threads=1)  # type: ignore[misc]

    pad = tokenizer.token_to_id("[PAD]") or 0
    return Encoder(tokenize=tokenizer.encode_batch, run=run, pad_id=pad, ask=ask if asker else None)


@contextmanager
def torch_threads(small: bool) -> Iterator[None]:
    """One torch thread for small inputs (as the ONNX session); all of them otherwise."""
    if not small:
        yield
        return
    import torch

    with _one_thread:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(threads)


def transformers_encoder(path: Path, window: int) -> Encoder:
    """texts -> Encoded with transformers' AutoModel on torch, for models that are not plain BERT."""
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging
    except ImportError:
        raise ConfigError(f"the embedding model in {path} is not plain BERT: {HF_EXTRA}") from None

    logging.disable_progress_bar()  # "Loading weights" bars on every start say nothing useful
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    model = AutoModel.from_pretrained(str(path)).eval()

    def tokenize(texts: list[str]) -> list[Tokens]:
        found = tokenizer(texts, truncation=True, max_length=window, return_offsets_mapping=True)
        return [_Pieces(ids, [tuple(o) for o in offsets]) for ids, offsets in zip(found["input_ids"], found["offset_mapping"])]

    def run(ids: np.ndarray, mask: np.ndarray, small: bool) -> np.ndarray:
        with torch_threads(small), torch.inference_mode():
            states = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).last_hidden_state
        return states.float().numpy()

    return Encoder(tokenize=tokenize, run=run, pad_id=tokenizer.pad_token_id or 0)
