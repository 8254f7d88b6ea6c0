"""Calls to a chat model inside one time budget: bounded retries with backoff (tenacity), failures
classified into short reasons that are safe to show (never the server's raw text, never a key)."""

from __future__ import annotations

import email.utils
import gc
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import openai
from tenacity import RetryCallState, Retrying, retry_if_exception

if TYPE_CHECKING:
    from llama_index.core.base.llms.types import ChatMessage
    from llama_index.core.llms import LLM

log = logging.getLogger(__name__)
T = TypeVar("T")

BACKOFF_BASE = 0.5  # seconds before the first retry; doubles each time
BACKOFF_CAP = 8.0
RETRYABLE_STATUS = frozenset({408, 409, 429})  # plus every 5xx, as the openai SDK does
SLOW = "a slower model needs a larger ASSISTANT_LLM_TIMEOUT"  # said with every timeout
DEADLINE_MARGIN = 0.05  # a retry must start at least this long before the deadline


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

    def exclude(self, since: float) -> None:
        """Give back the time since `since` (a time.monotonic() reading): work that was not the model's."""
        self.started += time.monotonic() - since


@dataclass
class Usage:
    """Token counts the server reported, when it did."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None  # "length": the model stopped at its token limit, mid-answer
    choices_seen: bool = False  # the reply came in OpenAI's shape, where the last choice carries a finish reason
    reasoning: str = ""  # what a reasoning model sent apart from its answer (a `reasoning_content` field)

    def record_reasoning(self, message: Any) -> None:
        """LlamaIndex gathers a streamed `reasoning_content` into a ThinkingBlock (the whole text so far)."""
        for block in getattr(message, "blocks", None) or ():
            if type(block).__name__ == "ThinkingBlock" and getattr(block, "content", None):
                self.reasoning = str(block.content)

    def record(self, counts: dict[str, Any]) -> None:
        if counts.get("prompt_tokens"):
            self.prompt_tokens = int(counts["prompt_tokens"])
        if counts.get("completion_tokens"):
            self.completion_tokens = int(counts["completion_tokens"])

    def record_finish(self, raw: Any) -> None:
        """The finish reason of an OpenAI-style completion or stream chunk (an object or a dict), if any."""
        choices = raw.get("choices") if isinstance(raw, dict) else getattr(raw, "choices", None)
        self.choices_seen = self.choices_seen or choices is not None
        if not choices:
            return
        first = choices[0]
        reason = first.get("finish_reason") if isinstance(first, dict) else getattr(first, "finish_reason", None)
        if reason:
            self.finish_reason = str(reason)


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
        return LLMFailure(f"no reply within {timeout:g} s; {SLOW}", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status == 429:
            return LLMFailure("rate limited, HTTP 429", retryable=True, retry_after=_retry_after(exc.response))
        if status >= 500 or status in RETRYABLE_STATUS:
            return LLMFailure(f"HTTP {status}", retryable=True, retry_after=_retry_after(exc.response))
        hint = {
            401: "check ASSISTANT_LLM_API_KEY",
            403: "check ASSISTANT_LLM_API_KEY",
            404: "check ASSISTANT_LLM_MODEL and ASSISTANT_LLM_BASE_URL (or OPENAI_BASE_URL)",
        }.get(status, "the server rejected the request")
        return LLMFailure(f"HTTP {status}, {hint}")
    if isinstance(exc, openai.APIConnectionError):
        return LLMFailure("could not connect", retryable=True)
    if isinstance(exc, httpx.TransportError):  # raised mid-stream, outside the SDK's error wrapping
        return LLMFailure("the connection broke mid-reply", retryable=True)
    if isinstance(exc, MALFORMED):
        log.debug("malformed LLM response: %s", type(exc).__name__)
        return LLMFailure("malformed response", retryable=True)  # a proxy's error page may be gone on a retry
    return LLMFailure(type(exc).__name__)


# What a garbage body turns into inside the SDK (json.JSONDecodeError is a ValueError; missing fields
# surface as lookups on None).
MALFORMED = (ValueError, KeyError, IndexError, TypeError, AttributeError, openai.APIResponseValidationError)
CALL_ERRORS = (openai.OpenAIError, httpx.HTTPError, LLMFailure, *MALFORMED)


def _safely(fn: Callable[[], T], budget: Budget) -> T:
    """fn(), with any call error turned into an LLMFailure that chains nothing (SDK errors may quote the server)."""
    try:
        return fn()
    except CALL_ERRORS as exc:
        failure = classify(exc, budget.seconds)
    raise failure  # outside the except block: no __context__


# -- the one retry policy ------------------------------------------------------------------------
def with_retries(fn: Callable[[float], T], budget: Budget, retries: int) -> T:
    """fn(seconds_left), retried `retries` times on retryable failures with exponential backoff (or the
    server's Retry-After), never starting a retry that could not finish before the budget's deadline."""

    def attempt() -> T:
        remaining = budget.remaining()
        if remaining <= 0:
            raise LLMFailure(f"no reply within {budget.seconds:g} s; {SLOW}")
        return _safely(lambda: fn(remaining), budget)

    def wait(state: RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome else None
        if isinstance(failure, LLMFailure) and failure.retry_after is not None:
            return failure.retry_after
        return min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (state.attempt_number - 1))

    def stop(state: RetryCallState) -> bool:
        return state.attempt_number > retries or state.upcoming_sleep >= budget.remaining() - DEADLINE_MARGIN

    def announce(state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome else None
        log.warning("LLM call failed (%s); retrying in %.1f s", getattr(failure, "reason", "?"), state.upcoming_sleep)

    retrying = Retrying(
        retry=retry_if_exception(lambda exc: isinstance(exc, LLMFailure) and exc.retryable),
        wait=wait,
        stop=stop,
        before_sleep=announce,
        reraise=True,
    )
    return retrying(attempt)


# -- calls ----------------------------------------------------------------------------------------
def chat(llm: LLM, messages: Sequence[ChatMessage], budget: Budget, retries: int, usage: Usage) -> str:
    """The model's whole reply to `messages` (an empty one is a failure).

    Read as a stream all the same: when the budget runs out the connection is closed between two tokens,
    which stops a local server's generation; a server answering a plain request keeps generating for a
    reply nobody reads (≈ 50 s on a CPU llama.cpp, issue notes), and the next question queues behind it."""

    def attempt(seconds: float) -> str:
        chunks = iter(llm.stream_chat(list(messages), timeout=seconds, stream_options={"include_usage": True}))
        finished = False
        try:
            pieces = []
            while (delta := _next_delta(chunks, budget, usage)) is not None:
                pieces.append(delta)
                _check(budget)
            finished = True
        finally:
            _close(chunks, finished)
        text = "".join(pieces) if pieces else _without_deltas(llm, messages, budget, usage)
        if not text.strip() and not usage.reasoning:
            raise LLMFailure("empty response")
        return text

    return with_retries(attempt, budget, retries)


def _without_deltas(llm: LLM, messages: Sequence[ChatMessage], budget: Budget, usage: Usage) -> str:
    """The reply when a stream held no content delta. In OpenAI's shape, that is the reply: nothing, or only
    reasoning (a model that spent its tokens thinking; finish() says so) — asking again would double the
    wait. Otherwise the server ignored "stream" and sent one JSON body: read it with a plain request."""
    return "" if usage.choices_seen else _plain(llm, messages, budget, usage)


def _plain(llm: LLM, messages: Sequence[ChatMessage], budget: Budget, usage: Usage) -> str:
    """The reply to a plain request: asked when a stream held no delta, as a server that ignores "stream"
    answers with one JSON body, which reads as no deltas (and garbage is then said to be malformed)."""
    response = llm.chat(list(messages), timeout=max(budget.remaining(), 0.1))
    usage.record(response.additional_kwargs)
    usage.record_finish(response.raw)
    return response.message.content or ""


def _close(chunks: Iterator[Any], finished: bool) -> None:
    """Close a stream now, its HTTP connection with it, so the server stops writing.

    LlamaIndex's stream generators sit in a reference cycle: closing the outer one leaves the openai
    stream (whose `finally` closes the response) to the cycle collector, seconds later or never on an idle
    process. Measured with the fake server: no hang-up seen after 1 s, seen at once after gc.collect().
    So a stream left unfinished (a timeout, a broken reply) pays one collection (milliseconds)."""
    close = getattr(chunks, "close", None)
    if close is not None:
        try:
            close()
        except Exception:  # closing a broken stream can raise what broke it; it is closed either way
            log.debug("closing the LLM stream raised", exc_info=True)
    if not finished:
        gc.collect()


def stream_chat(llm: LLM, messages: Sequence[ChatMessage], budget: Budget, retries: int, usage: Usage) -> Iterator[str]:
    """Model deltas as they arrive. Opening the stream up to its first delta is retried; after that a
    reader has seen text, so a failure ends the stream with an LLMFailure."""

    def opened(seconds: float) -> tuple[str, Iterator[Any]]:
        chunks = iter(llm.stream_chat(list(messages), timeout=seconds, stream_options={"include_usage": True}))
        first = _next_delta(chunks, budget, usage)
        if first is None:  # no content delta (see _without_deltas)
            _close(chunks, True)
            text = _without_deltas(llm, messages, budget, usage)
            if not text.strip() and not usage.reasoning:
                raise LLMFailure("empty response")
            return text, iter(())
        return first, chunks

    first, chunks = with_retries(opened, budget, retries)
    finished = False
    try:
        yield first
        while True:
            _check(budget)  # as after every chunk: a reply that outlives the budget is cut off
            delta = _safely(lambda: _next_delta(chunks, budget, usage), budget)
            if delta is None:
                finished = True
                return
            yield delta
    finally:  # cut off, failed or abandoned by the reader: the server stops writing
        _close(chunks, finished)


def _check(budget: Budget) -> None:
    if budget.remaining() <= 0:
        raise LLMFailure(f"no complete reply within {budget.seconds:g} s; {SLOW}")


def _next_delta(chunks: Iterator[Any], budget: Budget, usage: Usage) -> str | None:
    """The next non-empty delta of a stream, or None at its end; usage is recorded on the way."""
    for chunk in chunks:
        usage.record(chunk.additional_kwargs)
        usage.record_finish(chunk.raw)
        usage.record_reasoning(chunk.message)
        if chunk.delta:
            return str(chunk.delta)
        _check(budget)
    return None
