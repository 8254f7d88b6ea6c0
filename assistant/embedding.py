"""Mean-pooling sentence embedders: the vectors sentence-transformers computes, without importing it.

A sentence-transformers model that is a transformer, mean pooling and Normalize needs none of that
library (nor sklearn and scipy, which it imports): the mean of the token states under the attention
mask, at unit length. A plain BERT (the default MiniLM) runs on ONNX Runtime from a graph built out of
its weights (assistant/onnxbert.py); other models (all-mpnet-base-v2) on transformers and torch.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import PrivateAttr

from . import onnxbert
from .errors import ConfigError

SMALL_INPUT = 4  # texts; a query, or a couple of sentences: run on one thread
HF_EXTRA = "install the extra for other local models: pip install 'abstract-assistant[hf]'"

# token states (batch, length, dim), attention mask (batch, length), character offsets (batch, length, 2)
Encoded = tuple[np.ndarray, np.ndarray, np.ndarray]
Encoder = Callable[[list[str], bool], Encoded]  # texts, small -> Encoded
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

    _encode_batch: Any = PrivateAttr()

    def __init__(self, name: str, encoder: Encoder, embed_batch_size: int) -> None:
        super().__init__(model_name=name, embed_batch_size=embed_batch_size)
        self._encode_batch = encoder

    @classmethod
    def class_name(cls) -> str:
        return "MeanPoolEmbedding"

    def _encode(self, texts: list[str]) -> list[list[float]]:
        return [vector for vector, _ in self.embed_with_spans(texts, [[] for _ in texts])]

    def embed_with_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]]
    ) -> list[tuple[list[float], list[list[float] | None]]]:
        """Each text's vector and, from the same forward pass, one vector per character span (the
        mean of the span's token states; None when truncation cut the span off). The indexer uses
        it for sentence vectors: one pass per chunk instead of one more per sentence halves ingest."""
        out: list[tuple[list[float], list[list[float] | None]]] = [([], []) for _ in texts]
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # similar lengths pad least
        small = len(texts) <= SMALL_INPUT
        for start in range(0, len(order), self.embed_batch_size):
            ids = order[start : start + self.embed_batch_size]
            states, mask, offsets = self._encode_batch([texts[i] for i in ids], small)
            weights = mask[..., None].astype(states.dtype)
            pooled = _unit((states * weights).sum(1) / np.maximum(weights.sum(1), 1e-9))
            for row, i in enumerate(ids):
                begin, end = offsets[row, :, 0], offsets[row, :, 1]
                real = end > begin  # special and padding tokens have empty offsets
                read_to = int(end[real].max()) if real.any() else 0
                parts: list[list[float] | None] = []
                for a, b in spans[i]:
                    inside = real & (begin >= a) & (end <= b)
                    whole = bool(inside.any()) and read_to >= b
                    parts.append(_unit(states[row][inside].mean(0)).tolist() if whole else None)
                out[i] = (pooled[row].tolist(), parts)
        return out

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._encode([query])[0]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._encode([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._encode(texts)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


def _tokenizer(path: Path, window: int) -> Any:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=window)
    pad = tokenizer.token_to_id("[PAD]") or 0
    tokenizer.enable_padding(pad_id=pad, pad_token="[PAD]")
    return tokenizer


def onnx_encoder(path: Path, window: int, precision: onnxbert.Precision, cache_dir: Path) -> Encoder | None:
    """texts -> Encoded on ONNX Runtime, or None if the model is not a plain BERT with a tokenizer.json.
    Small inputs run on a one-thread session: one query gains nothing from intra-op threads, and when
    the cores are busy every parallel op waits for a descheduled worker (benchmarks/RESULTS.md)."""
    if not (onnxbert.supports(path) and (path / "tokenizer.json").exists()):
        return None
    tokenizer = _tokenizer(path, window)
    encoder = onnxbert.OnnxEncoder(onnxbert.graph_file(path, precision, cache_dir))

    def encode(texts: list[str], small: bool) -> Encoded:
        batch = tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in batch], dtype=np.int64)
        mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
        states = encoder(ids, mask, threads=1 if small else 0)
        return states, mask, np.array([e.offsets for e in batch], dtype=np.int64)

    return encode


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

    def encode(texts: list[str], small: bool) -> Encoded:
        batch = tokenizer(
            texts, padding=True, truncation=True, max_length=window, return_tensors="pt", return_offsets_mapping=True
        )
        offsets = batch.pop("offset_mapping")
        with torch_threads(small), torch.inference_mode():
            states = model(**batch).last_hidden_state
        return states.float().numpy(), batch["attention_mask"].numpy(), offsets.numpy()

    return encode
