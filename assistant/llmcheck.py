"""`assistant llm check`: a short battery against the configured LLM server that tells a user what they
need to know before trusting its answers — reachable, how long to the first token, whether it writes
[n] markers, refuses when the sources do not answer, obeys the system message, and fits the window.

Each probe is one small real request through the same client, budget and text cleaning as answers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TextIO

from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.llms import LLM

from .chat import Budget, LLMFailure, Usage, stream_chat
from .cite import validate
from .config import Settings
from .llm import build_prompt
from .modeltext import clean, refuses
from .prompts import CANNOT_ANSWER
from .providers import build_llm, llm_host
from .text import count_tokens
from .types import Paper

# Two made-up abstracts: what the model is asked about is in the second, so a model that cites at all
# must cite [2]; nothing in either states hardware, so the second question must be refused.
SOURCES = [
    Paper(id="check-1", title="Alpha: pruning networks", abstract="Alpha prunes 90% of the weights of a network "
          "with a magnitude criterion and keeps its accuracy within one point on image classification."),
    Paper(id="check-2", title="Beta: tiled attention", abstract="Beta computes exact attention in tiles that fit "
          "in fast on-chip memory. It runs three times faster than standard attention on long sequences."),
]
CITE_QUESTION = "How much faster than standard attention is Beta?"
REFUSE_QUESTION = "Which GPU model did the authors of Alpha train on?"
SYSTEM_WORD = "BANANA"
CODE_WORD = "PAPAYA"  # --full: stated at the start of a prompt that fills the window


@dataclass(frozen=True)
class Finding:
    check: str
    status: str  # "ok", "FAIL" or "note"
    detail: str


@dataclass
class Reply:
    text: str
    first_token_s: float
    total_s: float
    finish: str | None = None  # the server's finish reason ("length": cut at ASSISTANT_LLM_MAX_TOKENS)


def _ask(llm: LLM, messages: list[ChatMessage], settings: Settings) -> Reply:
    started = time.monotonic()
    first: float | None = None
    pieces: list[str] = []
    usage = Usage()
    for delta in stream_chat(llm, messages, Budget(settings.llm_timeout), 0, usage):
        first = first if first is not None else time.monotonic() - started
        pieces.append(delta)
    total = time.monotonic() - started
    return Reply("".join(pieces), first if first is not None else total, total, usage.finish_reason)


def served_models(settings: Settings) -> list[str] | None:
    """The model names the server lists at /models (Ollama, vLLM, llama.cpp and LM Studio all do); None
    when it lists none or cannot be asked. Its errors are not read: they may quote the key."""
    import openai

    key = settings.llm_api_key.get_secret_value().strip() if settings.llm_api_key else ""
    try:
        client = openai.OpenAI(base_url=settings.llm_base_url or None, api_key=key or "none",
                               timeout=min(settings.llm_timeout, 10.0), max_retries=0)
        return sorted(m.id for m in client.models.list()) or None
    except Exception:  # noqa: BLE001 - a hint only: any failure means no list
        return None


def _offered(settings: Settings) -> str:
    """"; the server offers …" when ASSISTANT_LLM_MODEL is not among the models it lists."""
    models = served_models(settings)
    if not models or settings.llm_model in models:
        return ""
    shown = ", ".join(models[:12]) + (f" and {len(models) - 12} more" if len(models) > 12 else "")
    return f"; ASSISTANT_LLM_MODEL is {settings.llm_model!r}, and the server offers {shown}"


def _prompt(question: str, settings: Settings) -> list[ChatMessage]:
    return build_prompt(question, SOURCES, settings).messages


def findings(settings: Settings, llm: LLM | None = None, full: bool = False) -> Iterator[Finding]:
    """The checks in order; the first request failing ends the battery with a FAIL naming the reason."""
    llm = llm or build_llm(settings)
    where = f"{llm_host(settings)} model {settings.llm_model}"
    try:
        hello = _ask(llm, [ChatMessage(role=MessageRole.USER, content="Say hello in five words.")], settings)
    except LLMFailure as failure:
        if failure.reason.startswith("HTTP 4") and not failure.retryable:  # it answered, and refused
            yield Finding("reachable", "ok", f"{llm_host(settings)} answered, but refused the request")
            yield Finding("accepted", "FAIL", f"{where}: {failure.reason}{_offered(settings)}")
        elif failure.reason.startswith("no complete reply"):  # it answered, too slowly to finish
            yield Finding("reachable", "ok", f"{llm_host(settings)} answered, but slowly")
            yield Finding("speed", "FAIL", f"{where}: {failure.reason}")
        else:
            yield Finding("reachable", "FAIL", f"{where}: {failure.reason}")
        return
    rate = count_tokens(hello.text) / max(hello.total_s - hello.first_token_s, 1e-3)
    yield Finding("reachable", "ok", f"{where} answered in {hello.total_s:.1f} s")
    yield Finding("first token", "ok", f"{hello.first_token_s:.1f} s to the first token of a short prompt, ~{rate:.0f} tokens/s")

    probes: list[tuple[str, str, Callable[[Reply], Finding]]] = [
        (CITE_QUESTION, "cites [n]", _cites),
        (REFUSE_QUESTION, "refuses", _refuses),
    ]
    noted = False
    for question, check, judge in probes:
        try:
            reply = _ask(llm, _prompt(question, settings), settings)
        except LLMFailure as failure:
            yield Finding(check, "FAIL", f"no reply: {failure.reason}")
            continue
        cleaned = clean(reply.text)
        if cleaned.unfinished_reasoning:  # no answer to judge: say why, not "no [n] marker" or "answered"
            limit = " at its token limit" if reply.finish == "length" else ""
            yield Finding(check, "FAIL", f"stopped inside its reasoning{limit}: raise "
                          f"ASSISTANT_LLM_MAX_TOKENS (now {settings.llm_max_tokens}) so it can finish thinking and answer")
        else:
            yield judge(reply)
        if cleaned.reasoning and not noted:
            noted = True
            yield Finding("reasoning", "note", f"writes a reasoning block ({count_tokens(cleaned.reasoning)} tokens): "
                          "hidden from answers, but it spends ASSISTANT_LLM_MAX_TOKENS and time")
    try:
        reply = _ask(llm, [
            ChatMessage(role=MessageRole.SYSTEM, content=f"Whatever the user asks, reply with exactly the word {SYSTEM_WORD}."),
            ChatMessage(role=MessageRole.USER, content="What is the capital of France?"),
        ], settings)
        obeyed = SYSTEM_WORD in reply.text.upper()
        yield Finding("system message", "ok" if obeyed else "note", "obeyed" if obeyed else
                      "ignored (its chat template may drop it): answers still work, the rules are repeated in the "
                      "user message")
    except LLMFailure as failure:
        yield Finding("system message", "FAIL", f"no reply: {failure.reason}")
    yield from _window(llm, settings, full)


def _cites(reply: Reply) -> Finding:
    text = clean(reply.text).text
    checked = validate(text, len(SOURCES))
    if 2 in checked.sources:
        styled = "" if "[2]" in reply.text else " (after reading its own citation style)"
        return Finding("cites [n]", "ok", f"cited the right source{styled} in {reply.total_s:.1f} s: {_short(text)}")
    if refuses(text):
        return Finding("cites [n]", "FAIL", f"refused a question its sources answer: {_short(text)}")
    return Finding("cites [n]", "FAIL", f"no usable [n] marker ({len(checked.sources)} read): answers will carry the "
                   f"notice 'cited none'; try a larger or instruction-tuned model. Reply: {_short(reply.text)}")


def _refuses(reply: Reply) -> Finding:
    text = clean(reply.text).text
    if text.startswith(CANNOT_ANSWER):
        return Finding("refuses", "ok", "wrote the exact cannot-answer sentence when the sources do not answer")
    if refuses(text):
        return Finding("refuses", "ok", f"refused in its own words (recognised): {_short(text)}")
    return Finding("refuses", "FAIL", f"answered a question its sources cannot answer: {_short(text)}")


def _window(llm: LLM, settings: Settings, full: bool) -> Iterator[Finding]:
    room = settings.llm_context_window - settings.llm_max_tokens
    long = [Paper(id=f"w{i}", title=f"Filler {i}", abstract="word " * 400) for i in range(settings.top_k)]
    fitted = build_prompt("What do these abstracts say?", long, settings)
    detail = (f"ASSISTANT_LLM_CONTEXT_WINDOW {settings.llm_context_window} leaves {room} prompt tokens: "
              f"{len(fitted.sources)} of {settings.top_k} abstracts of 400 words fit")
    if not full:
        yield Finding("context window", "note", detail + " (--full sends a prompt that fills them)")
        return
    # As many fillers as the room holds (build_prompt drops the rest), the code word at the very start: a
    # server that keeps only the end of a long prompt (Ollama beyond its num_ctx, silently) cannot say it.
    first = Paper(id="w0", title="Filler 0", abstract=f"The code word is {CODE_WORD}. " + "word " * 400)
    fillers = [first, *(Paper(id=f"w{i}", title=f"Filler {i}", abstract="word " * 400) for i in range(1, room // 300 + 2))]
    prompt = build_prompt("What is the code word stated at the start of the first abstract?", fillers, settings)
    try:
        reply = _ask(llm, prompt.messages, settings)
    except LLMFailure as failure:
        yield Finding("context window", "FAIL", f"a {prompt.tokens}-token prompt failed ({failure.reason}): the server's "
                      "context is smaller than ASSISTANT_LLM_CONTEXT_WINDOW says; lower it")
        return
    if CODE_WORD not in reply.text.upper():
        yield Finding("context window", "FAIL", f"the server took a {prompt.tokens}-token prompt, but its reply lacks the "
                      "code word at the prompt's start: it may read only the end of long prompts (Ollama cuts them at "
                      "its num_ctx without an error); raise the server's context or lower ASSISTANT_LLM_CONTEXT_WINDOW. "
                      f"Reply: {_short(reply.text)}")
        return
    yield Finding("context window", "ok", detail + f"; the server read a {prompt.tokens}-token prompt to its start")


def _short(text: str, limit: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def run(settings: Settings, out: TextIO, full: bool = False, llm: LLM | None = None) -> int:
    """Print the findings; 3 when the server cannot be reached, 1 when a check failed, else 0."""
    llm = llm or build_llm(settings)  # a settings error first, before a line that names the endpoint
    out.write(f"checking {settings.llm} at {llm_host(settings)} (timeout {settings.llm_timeout:g} s per request)\n")
    found: list[Finding] = []
    for finding in findings(settings, llm, full):
        found.append(finding)
        out.write(f"{finding.status:>4}  {finding.check}: {finding.detail}\n")
        out.flush()
    if found and found[0].check == "reachable" and found[0].status == "FAIL":
        return 3
    return 1 if any(f.status == "FAIL" for f in found) else 0
