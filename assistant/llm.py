"""Passages -> cited answer written by an LLM (OpenAI or any OpenAI-compatible server).

A LlamaIndex query engine: retrieve papers, number them as sources in a token-budgeted prompt, call
the model with bounded retries inside one overall timeout, validate its [n] markers and attach the
best supporting sentence to each citation. When the model fails it answers extractively with a
notice (or raises LLMUnavailable when ASSISTANT_LLM_FALLBACK=none).

Streamed text deltas are the model's raw words; the Final answer carries the validated text, so a
consumer should show Final's text once it arrives (it differs when markers were dropped, the model
abstained, or the extractive fallback replaced a broken stream).
"""

from __future__ import annotations

import email.utils
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import openai
from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.base.response.schema import Response
from llama_index.core.schema import NodeWithScore, QueryBundle

from .answer import LEXICAL_WEIGHT, ExtractiveQueryEngine, to_passages
from .cite import MARKER, markers, validate
from .config import Settings
from .errors import ConfigError, LLMUnavailable
from .prompts import CANNOT_ANSWER, render
from .providers import llm_host
from .text import content_terms, count_tokens, split_sentences
from .types import Answer, Citation, Event, Final, Paper, Status, TextDelta

if TYPE_CHECKING:
    from llama_index.core.llms import LLM

log = logging.getLogger(__name__)
T = TypeVar("T")

# Chat formatting costs a few tokens per message plus the reply's priming (OpenAI's published rule).
TOKENS_PER_MESSAGE = 4
TOKENS_PER_REPLY = 3
BACKOFF_BASE = 0.5  # seconds before the first retry; doubles each time
BACKOFF_CAP = 8.0
RETRYABLE_STATUS = frozenset({408, 409, 429})  # plus every 5xx, as the openai SDK does
CONDENSE_SHARE = 1 / 3  # condensing a follow-up may use at most this share of the timeout
HISTORY_TURNS = 6  # most recent turns shown to the condenser
HISTORY_CHARS = 400  # each turn is clipped to this many characters


class LLMFailure(Exception):
    """One failed call, with a short reason that is safe to show (never the server's raw text)."""

    def __init__(self, reason: str, *, retryable: bool = False, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass
class Budget:
    """One overall deadline for a question; every attempt and every wait fits inside it."""

    seconds: float
    started: float = field(default_factory=time.monotonic)

    @property
    def deadline(self) -> float:
        return self.started + self.seconds

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def share(self, fraction: float) -> Budget:
        return Budget(min(self.remaining(), self.seconds * fraction))


@dataclass(frozen=True)
class Prompt:
    """The chat messages sent to the model and the papers they number 1..n."""

    messages: list[ChatMessage]
    sources: list[Paper]
    tokens: int


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def record(self, counts: dict[str, Any]) -> None:
        if counts.get("prompt_tokens"):
            self.prompt_tokens = int(counts["prompt_tokens"])
        if counts.get("completion_tokens"):
            self.completion_tokens = int(counts["completion_tokens"])


# -- prompts ----------------------------------------------------------------------------------
def _as_data(text: str) -> str:
    """Source text that cannot close or forge a <source> block."""
    return re.sub(r"</?\s*source\b", lambda m: m.group(0).replace("<", "‹"), text, flags=re.IGNORECASE)


def source_block(n: int, paper: Paper, text: str | None = None) -> str:
    title = _as_data(paper.title).replace('"', "'") if paper.has_title else "(untitled)"
    return render("source_block", n=n, title=title, text=_as_data(paper.abstract if text is None else text))


def chat_tokens(messages: Sequence[ChatMessage]) -> int:
    """Prompt tokens of a chat request, counted with tiktoken (cl100k_base)."""
    return sum(TOKENS_PER_MESSAGE + count_tokens(m.content or "") for m in messages) + TOKENS_PER_REPLY


def build_prompt(question: str, papers: Sequence[Paper], settings: Settings) -> Prompt:
    """System + user messages that, with the reply's max tokens, fit the context window.

    Lowest-ranked sources are dropped first; a lone source too long to fit is cut short.
    """
    system = render("answer_system", max_sentences=settings.answer_sentences, cannot_answer=CANNOT_ANSWER)
    limit = settings.llm_context_window - settings.llm_max_tokens

    def messages(blocks: Sequence[str]) -> list[ChatMessage]:
        user = render("answer_user", sources="\n\n".join(blocks), question=question)
        return [ChatMessage(role=MessageRole.SYSTEM, content=system), ChatMessage(role=MessageRole.USER, content=user)]

    if chat_tokens(messages([])) > limit:
        raise ConfigError(
            f"ASSISTANT_LLM_CONTEXT_WINDOW ({settings.llm_context_window}) minus ASSISTANT_LLM_MAX_TOKENS "
            f"({settings.llm_max_tokens}) cannot hold the prompt; raise the window or lower max tokens"
        )
    sources = list(papers)
    blocks = [source_block(i, p) for i, p in enumerate(sources, start=1)]
    while len(blocks) > 1 and chat_tokens(messages(blocks)) > limit:
        blocks.pop()
        sources.pop()
    if blocks and chat_tokens(messages(blocks)) > limit:
        words = sources[0].abstract.split()
        lo, hi = 0, len(words)  # the longest prefix of words that fits
        while lo < hi:
            mid = (lo + hi + 1) // 2
            fits = chat_tokens(messages([source_block(1, sources[0], " ".join(words[:mid]) + " …")])) <= limit
            lo, hi = (mid, hi) if fits else (lo, mid - 1)
        if lo == 0:
            sources, blocks = [], []
        else:
            blocks = [source_block(1, sources[0], " ".join(words[:lo]) + " …")]
    final = messages(blocks)
    return Prompt(messages=final, sources=sources, tokens=chat_tokens(final))


def format_history(history: Sequence[Any]) -> str:
    """Recent turns as `User: ...` / `Assistant: ...` lines, each clipped."""
    lines: list[str] = []
    for turn in history:
        if isinstance(turn, dict):
            pairs = [(str(turn.get("role", "")), str(turn.get("content") or ""))]
        elif isinstance(turn, (tuple, list)) and len(turn) >= 1:
            pairs = [("user", str(turn[0] or "")), ("assistant", str(turn[1] or "") if len(turn) > 1 else "")]
        else:
            continue
        for role, content in pairs:
            content = " ".join(content.split())
            if role in ("user", "assistant") and content:
                clipped = content if len(content) <= HISTORY_CHARS else content[:HISTORY_CHARS] + " …"
                lines.append(f"{role.capitalize()}: {clipped}")
    return "\n".join(lines[-HISTORY_TURNS:])


# -- failures -----------------------------------------------------------------------------------
def _retry_after(response: httpx.Response | None) -> float | None:
    if response is None:
        return None
    headers = response.headers
    try:
        if "retry-after-ms" in headers:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


def classify(exc: BaseException, timeout: float) -> LLMFailure:
    """A short, key-free reason for a failed call, and whether trying again could help."""
    if isinstance(exc, LLMFailure):
        return exc
    if isinstance(exc, openai.APITimeoutError) or isinstance(exc, httpx.TimeoutException):
        return LLMFailure(f"no reply within {timeout:g} s", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status == 429:
            return LLMFailure("rate limited, HTTP 429", retryable=True, retry_after=_retry_after(exc.response))
        if status >= 500 or status in RETRYABLE_STATUS:
            return LLMFailure(f"HTTP {status}", retryable=True, retry_after=_retry_after(exc.response))
        hint = {
            401: "check ASSISTANT_LLM_API_KEY",
            403: "check ASSISTANT_LLM_API_KEY",
            404: "check ASSISTANT_LLM_MODEL and ASSISTANT_LLM_BASE_URL",
        }.get(status, "the server rejected the request")
        return LLMFailure(f"HTTP {status}, {hint}")
    if isinstance(exc, openai.APIConnectionError):
        return LLMFailure("could not connect", retryable=True)
    if isinstance(exc, httpx.TransportError):  # raised mid-stream, outside the SDK's error wrapping
        return LLMFailure("the connection broke mid-reply", retryable=True)
    if isinstance(exc, MALFORMED):
        log.debug("malformed LLM response: %s", type(exc).__name__)
        return LLMFailure("malformed response")
    return LLMFailure(type(exc).__name__)


# What a garbage body turns into inside the SDK (json.JSONDecodeError is a ValueError; missing fields
# surface as lookups on None).
MALFORMED = (ValueError, KeyError, IndexError, TypeError, AttributeError, openai.APIResponseValidationError)
CALL_ERRORS = (openai.OpenAIError, httpx.HTTPError, LLMFailure, *MALFORMED)


def next_wait(failure: LLMFailure, attempt: int, retries: int, budget: Budget) -> float | None:
    """Seconds to wait before attempt `attempt + 1`, or None when giving up is the right call."""
    if not failure.retryable or attempt > retries:
        return None
    wait = failure.retry_after if failure.retry_after is not None else min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
    # A retry that would start after the deadline cannot finish: fail now instead of sleeping.
    return wait if wait < budget.remaining() - 0.05 else None


# -- the engine ---------------------------------------------------------------------------------
class LLMQueryEngine(BaseQueryEngine):
    """LlamaIndex query engine for the LLM modes; the extractive engine it wraps is the fallback."""

    def __init__(self, extractive: ExtractiveQueryEngine, llm: LLM, settings: Settings) -> None:
        super().__init__(callback_manager=None)
        self.extractive = extractive
        self.retriever = extractive.retriever
        self.llm = llm
        self.settings = settings

    def _get_prompt_modules(self) -> dict[str, Any]:
        return {}

    # -- calls ------------------------------------------------------------------------------------
    def _call(self, fn: Callable[[float], T], budget: Budget, retries: int) -> T:
        """fn(seconds_left) with bounded retries and backoff, never past the budget's deadline."""
        attempt = 0
        while True:
            attempt += 1
            remaining = budget.remaining()
            if remaining <= 0:
                raise LLMFailure(f"no reply within {budget.seconds:g} s")
            try:
                return fn(remaining)
            except CALL_ERRORS as exc:
                failure = classify(exc, budget.seconds)
            # Raised outside the except block so no SDK exception (which may quote the server) is chained.
            wait = next_wait(failure, attempt, retries, budget)
            if wait is None:
                raise failure
            log.warning("LLM call failed (%s); retrying in %.1f s", failure.reason, wait)
            time.sleep(wait)

    def _chat(self, messages: list[ChatMessage], budget: Budget, retries: int, usage: Usage) -> str:
        def attempt(seconds: float) -> str:
            response = self.llm.chat(messages, timeout=seconds)
            text = response.message.content or ""
            if not text.strip():
                raise LLMFailure("empty response")
            usage.record(response.additional_kwargs)
            return text

        return self._call(attempt, budget, retries)

    def _stream_chat(self, messages: list[ChatMessage], budget: Budget, usage: Usage) -> Iterator[str]:
        """Model deltas as they arrive; retries only before the first delta (a reader has it then)."""
        attempt = 0
        while True:
            attempt += 1
            started = False
            try:
                if budget.remaining() <= 0:
                    raise LLMFailure(f"no reply within {budget.seconds:g} s")
                chunks = self.llm.stream_chat(
                    messages, timeout=budget.remaining(), stream_options={"include_usage": True}
                )
                for chunk in chunks:
                    usage.record(chunk.additional_kwargs)
                    if chunk.delta:
                        started = True
                        yield chunk.delta
                    if budget.remaining() <= 0:
                        raise LLMFailure(f"no complete reply within {budget.seconds:g} s")
                if not started:
                    raise LLMFailure("empty response")
                return
            except CALL_ERRORS as exc:
                failure = classify(exc, budget.seconds)
            wait = None if started else next_wait(failure, attempt, self.settings.llm_retries, budget)
            if wait is None:
                raise failure
            log.warning("LLM call failed (%s); retrying in %.1f s", failure.reason, wait)
            time.sleep(wait)

    # -- follow-ups -------------------------------------------------------------------------------
    def condense(self, question: str, history: Sequence[Any] | None, budget: Budget | None = None) -> str | None:
        """The follow-up rewritten as a standalone question, or None (no history, or the LLM failed)."""
        conversation = format_history(history or [])
        if not conversation:
            return None
        prompt = render("condense", history=conversation, question=question)
        budget = (budget or Budget(self.settings.llm_timeout)).share(CONDENSE_SHARE)
        try:
            text = self._chat([ChatMessage(role=MessageRole.USER, content=prompt)], budget, 0, Usage())
        except LLMFailure as failure:
            log.warning("could not condense the follow-up (%s); using the heuristic", failure.reason)
            return None
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        standalone = re.sub(r"^(standalone question:\s*)", "", lines[0], flags=re.IGNORECASE).strip(" \"'") if lines else ""
        if not standalone or len(standalone) > self.settings.max_question_chars:
            return None
        return standalone

    # -- answering --------------------------------------------------------------------------------
    def _retrieve(self, query_bundle: QueryBundle) -> tuple[list[NodeWithScore], list[Paper]]:
        nodes = self.retriever.retrieve(query_bundle)
        papers = self.extractive.papers
        nodes = [n for n in nodes if n.node.node_id in papers]
        return nodes, [papers[n.node.node_id] for n in nodes]

    def _query(self, query_bundle: QueryBundle) -> Response:
        return self.answer(query_bundle)

    async def _aquery(self, query_bundle: QueryBundle) -> Response:
        return self._query(query_bundle)

    def answer(self, query_bundle: QueryBundle, question: str | None = None, budget: Budget | None = None) -> Response:
        """One non-streaming request; metadata carries the Answer and its text as one piece."""
        budget = budget or Budget(self.settings.llm_timeout)
        nodes, papers = self._retrieve(query_bundle)
        prompt = build_prompt(query_bundle.query_str, papers, self.settings)
        usage = Usage()
        try:
            raw = self._chat(prompt.messages, budget, self.settings.llm_retries, usage) if prompt.sources else None
        except LLMFailure as failure:
            answer = self.fallback(query_bundle, nodes, papers, failure)
        else:
            answer = self.finish(query_bundle, nodes, prompt, raw, usage)
        answer = answer.model_copy(update={"question": question or query_bundle.query_str})
        return Response(response=answer.text, source_nodes=nodes, metadata={"answer": answer, "pieces": [answer.text]})

    def stream(self, query_bundle: QueryBundle, question: str | None = None, budget: Budget | None = None) -> Iterator[Event]:
        """Status("writing"), the model's raw TextDeltas, then Final with the validated answer.

        If the model fails, Status("fallback") is followed by the extractive answer's text and Final.
        """
        budget = budget or Budget(self.settings.llm_timeout)
        nodes, papers = self._retrieve(query_bundle)
        prompt = build_prompt(query_bundle.query_str, papers, self.settings)
        yield Status(stage="writing")
        usage = Usage()
        pieces: list[str] = []
        try:
            if prompt.sources:
                for delta in self._stream_chat(prompt.messages, budget, usage):
                    pieces.append(delta)
                    yield TextDelta(text=delta)
        except LLMFailure as failure:
            answer = self.fallback(query_bundle, nodes, papers, failure)
            yield Status(stage="fallback")
            yield TextDelta(text=("\n\n" if pieces else "") + answer.text)
        else:
            answer = self.finish(query_bundle, nodes, prompt, "".join(pieces) if prompt.sources else None, usage)
        yield Final(answer=answer.model_copy(update={"question": question or query_bundle.query_str}))

    def finish(
        self, query_bundle: QueryBundle, nodes: Sequence[NodeWithScore], prompt: Prompt, raw: str | None, usage: Usage
    ) -> Answer:
        """The validated Answer for the model's raw text (None: nothing to ask the model about)."""
        question = query_bundle.query_str
        shown = [n for n in nodes if n.node.node_id in {p.id for p in prompt.sources}]
        common: dict[str, Any] = {
            "mode": self.settings.llm,
            "raw_text": raw or "",
            "prompt_tokens": usage.prompt_tokens or (prompt.tokens if raw is not None else 0),
            "completion_tokens": usage.completion_tokens or (count_tokens(raw) if raw else 0),
            "passages": to_passages(shown),
        }
        if raw is None or abstains(raw):
            answer, _ = self.extractive.composer.abstain(question, prompt.sources, self.extractive.settings_hash)
            return answer.model_copy(update={**common, "dropped_markers": len(markers(raw or ""))})
        checked = validate(raw, len(prompt.sources))
        cited = [prompt.sources[n - 1] for n in checked.sources]
        return Answer(
            question=question,
            text=checked.text,
            citations=self.citations(checked.text, cited),
            abstained=False,
            settings_hash=self.extractive.settings_hash,
            dropped_markers=checked.dropped,
            notice=None if cited else "The model cited none of the abstracts; treat this answer as unsupported.",
            **common,
        )

    def citations(self, text: str, cited: Sequence[Paper]) -> list[Citation]:
        """Citation n for each cited paper, quoting its sentence closest to the answer sentences citing [n]."""
        citing: dict[int, list[str]] = {}
        for sentence in split_sentences(text):
            plain = MARKER.sub("", sentence).strip()
            for n in dict.fromkeys(markers(sentence)):
                citing.setdefault(n, []).append(plain)
        stored = self.extractive.composer.sentences([p.id for p in cited])
        weights = self.extractive.composer.weights
        out: list[Citation] = []
        for n, paper in enumerate(cited, start=1):
            claim = " ".join(citing.get(n, [])) or text
            claim_terms = set(content_terms(claim))
            options = stored.get(paper.id) or [(s, []) for s in split_sentences(paper.abstract)]
            vector = self.retriever.embed_query(claim) if any(vec for _, vec in options) else []

            def score(option: tuple[str, Sequence[float]]) -> float:
                sentence, vec = option
                dense = sum(a * b for a, b in zip(vector, vec)) if vec else 0.0
                return dense + LEXICAL_WEIGHT * weights.overlap(claim_terms, set(content_terms(sentence)))

            quote = max(options, key=score)[0] if options else paper.abstract
            out.append(Citation(n=n, paper_id=paper.id, title=paper.title, quote=quote))
        return out

    def fallback(
        self, query_bundle: QueryBundle, nodes: Sequence[NodeWithScore], papers: Sequence[Paper], failure: LLMFailure
    ) -> Answer:
        """The extractive answer with a notice, or LLMUnavailable when fallback is off."""
        host = llm_host(self.settings)
        log.warning("the LLM at %s was unavailable (%s)", host, failure.reason)
        if self.settings.llm_fallback != "extractive":
            raise LLMUnavailable(
                f"the LLM at {host} was unavailable ({failure.reason}); check ASSISTANT_LLM_BASE_URL and "
                "ASSISTANT_LLM_MODEL, or set ASSISTANT_LLM_FALLBACK=extractive to answer offline"
            ) from None
        answer, _ = self.extractive.composer.compose(
            query_bundle.query_str, query_bundle.embedding or [], papers, self.extractive.settings_hash
        )
        notice = f"The LLM at {host} was unavailable ({failure.reason}); this answer was composed offline from the abstracts."
        return answer.model_copy(update={"passages": to_passages(nodes), "notice": notice, "mode": "extractive"})


def abstains(text: str) -> bool:
    """The model used the shared cannot-answer sentence."""
    flat = " ".join(MARKER.sub("", text).split()).lower()
    return CANNOT_ANSWER.lower().rstrip(".") in flat
