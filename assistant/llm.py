"""Passages -> cited answer written by an LLM (OpenAI or any OpenAI-compatible server).

A LlamaIndex query engine assembled from a retriever, the chat model and the extractive composer:
retrieve papers, number them as sources in a token-budgeted prompt, call the model within one overall
timeout (assistant/chat.py), validate its [n] markers and attach the best supporting sentence to each
citation. When the model fails it answers extractively with a notice (or raises LLMUnavailable when
ASSISTANT_LLM_FALLBACK=none).

Streamed text deltas are the model's raw words; the Final answer carries the validated text, so a
consumer should show Final's text once it arrives (it differs when markers were dropped, the model
abstained, or the extractive fallback replaced a broken stream).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.schema import NodeWithScore, QueryBundle

from .answer import LEXICAL_WEIGHT, CitingEngine, ExtractiveComposer, needs_earlier, to_passages
from .chat import Budget, LLMFailure, Usage, chat, stream_chat
from .cite import MARKER, expand_ranges, markers, uncited_claims, validate
from .modeltext import clean, refuses
from .config import Settings
from .errors import ConfigError, LLMUnavailable
from .followup import Turn, format_history, not_to_repeat, search_query
from .prompts import CANNOT_ANSWER, render
from .providers import llm_host
from .spelling import Speller
from .text import content_terms, count_tokens, rough_sentences, split_sentences
from .types import Answer, Citation, Event, Final, Paper, Passage, Reading, Status, Support, TextDelta

if TYPE_CHECKING:
    from llama_index.core.llms import LLM

    from .retrieve import PaperRetriever

log = logging.getLogger(__name__)

# Chat formatting costs a few tokens per message plus the reply's priming (OpenAI's published rule).
TOKENS_PER_MESSAGE = 4
TOKENS_PER_REPLY = 3
CONDENSE_SHARE = 1 / 3  # condensing a follow-up may use at most this share of the timeout


@dataclass(frozen=True)
class Prompt:
    """The chat messages sent to the model and the papers they number 1..n."""

    messages: list[ChatMessage]
    sources: list[Paper]
    tokens: int


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
        # The rules again in the user turn: some chat templates (Gemma's) drop the system message.
        user = render(
            "answer_user",
            sources="\n\n".join(blocks),
            question=question,
            max_sentences=settings.answer_sentences,
            cannot_answer=CANNOT_ANSWER,
        )
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


# -- streaming -----------------------------------------------------------------------------------
_SENTENCE_END = re.compile(r"[.!?][\"”’')\]]*(?=\s)|\S(?=\n\s*\n)")  # a sentence's or a paragraph's end
_ABBREVIATION_END = re.compile(r"\b(?:et al|e\.g|i\.e|cf|vs|resp|approx|etc|Fig|Eq|Sec)\.$", re.IGNORECASE)


# Three words of a new sentence, not a list of sources, references or notes that may still attach to the last one.
_UNDER_WAY = re.compile(
    r"\s+(?!(?:sources?|references?|citations?|bibliography|notes?|cited)\b)[\"“(]?[A-Za-z]\w*(?:\s+[\w,;:'’-]+){2}\s",
    re.IGNORECASE,
)


def capped(text: str, limit: int) -> tuple[str, int]:
    """The text cut to its first `limit` sentences, and how many it had. A model's text is split by
    text.rough_sentences: NLTK's sentence tokenizer took 2-3 s and 143 MB of the serving process to import."""
    sentences = rough_sentences(text)
    return (" ".join(sentences[:limit]) if len(sentences) > limit else text), len(sentences)


class LiveText:
    """A model's streamed reply -> the text its final answer will show, released sentence by sentence.

    Each delta re-reads the whole reply as the final answer will (clean, then validate: reasoning hidden,
    "[Source 2]" read as [2], markers renumbered by first use, unknown ones dropped) and releases the
    sentences before the last complete one. So a model that cites [2] before [1] streams "[1]" there, a `<think>`
    block never reaches the reader, and a half-written marker or "References:" line waits for its sentence.
    Re-reading a reply of a few thousand characters per delta costs well under a millisecond."""

    def __init__(self, n_sources: int, max_sentences: int) -> None:
        self.n_sources = n_sources
        self.max_sentences = max_sentences
        self.raw: list[str] = []
        self.released = ""

    def _shown(self) -> str:
        return validate(capped(clean("".join(self.raw)).text, self.max_sentences)[0], self.n_sources).text

    def _release(self, upto: str) -> str:
        if not upto.startswith(self.released):  # the reading changed behind us: the final answer settles it
            return ""
        delta, self.released = upto[len(self.released) :], upto
        return delta

    def feed(self, delta: str) -> str:
        self.raw.append(delta)
        shown = self._shown()
        # not after "e.g." or "et al.": the stream paused mid-sentence there ("Many models, e.g." shown alone)
        ends = [m.end() for m in _SENTENCE_END.finditer(shown) if not _ABBREVIATION_END.search(shown[: m.end()])]
        # The last complete sentence waits while what follows could still change it ("It holds.\nSources: 1, 2"),
        # not once a new sentence is under way: held until the next one ended, a two-sentence answer showed nothing
        # for most of a slow model's reply (a page test: the first sentence 3 s late, then 10 s without a word).
        if ends and _UNDER_WAY.match(shown[ends[-1] :]):
            return self._release(shown[: ends[-1]])
        return self._release(shown[: ends[-2]]) if len(ends) > 1 else ""

    def finish(self) -> str:
        """The rest, once the reply is complete."""
        return self._release(self._shown())


# -- the engine ---------------------------------------------------------------------------------
class LLMEngine(CitingEngine):
    """The LLM modes: retrieve, prompt, call the model, validate; the composer answers when the model cannot."""

    def __init__(
        self,
        retriever: PaperRetriever,
        composer: ExtractiveComposer,
        papers: Mapping[str, Paper],
        llm: LLM,
        settings: Settings,
        speller: Speller | None = None,
    ) -> None:
        super().__init__(retriever, papers, speller)
        self.composer = composer
        self.llm = llm
        self.settings = settings
        self.settings_hash = settings.settings_hash()

    # -- follow-ups -------------------------------------------------------------------------------
    def search_query(self, question: str, history: Sequence[Turn] | None, budget: Budget) -> str:
        """What to retrieve: a follow-up rewritten into a standalone question by the model (see followup.py)."""
        share = budget.share(CONDENSE_SHARE)

        def rewrite(prompt: str) -> str | None:
            try:
                return chat(self.llm, [ChatMessage(role=MessageRole.USER, content=prompt)], share, 0, Usage())
            except LLMFailure as failure:
                log.warning("could not condense the follow-up (%s); using the heuristic", failure.reason)
                return None

        return search_query(question, history, rewrite, self.settings.max_question_chars)

    def relevant(self, query: QueryBundle, papers: Sequence[Paper]) -> list[Paper]:
        """The retrieved papers with a sentence close enough to answer (the extractive mode's abstention
        threshold), the first always: a small model cites what it is shown, so weak sources are left out.
        "Compare flow matching and diffusion models" keeps 2 of 5 seeds, the NTK question 4 of 5."""
        best: dict[str, float] = {}
        for cand in self.composer.candidates(query.query_str, query.embedding or [], papers):
            best[cand.paper.id] = max(best.get(cand.paper.id, cand.score), cand.score)
        threshold = self.settings.abstain_threshold
        return [p for i, p in enumerate(papers) if i == 0 or best.get(p.id, threshold - 1) >= threshold]

    # -- answering --------------------------------------------------------------------------------
    def answer(self, typed: str, history: Sequence[Turn] | None = None) -> Answer:
        """One non-streaming request."""
        unresolved = needs_earlier(typed, history, self.settings_hash)
        if unresolved is not None:
            return unresolved
        budget = Budget(self.settings.llm_timeout)
        condensed = self.search_query(typed, history, budget)
        since = time.monotonic()
        # the rewrite is asked again only when the papers found spell a word of the question otherwise
        found = self.find(typed, lambda q: condensed if q == typed else self.search_query(q, history, budget), history)
        question, query, nodes, papers = found.question, found.query, found.nodes, found.papers
        prompt = build_prompt(query.query_str, self.relevant(query, papers), self.settings)
        budget.exclude(since)  # the budget is the model's: retrieval is not charged to it
        usage = Usage()
        try:
            raw = chat(self.llm, prompt.messages, budget, self.settings.llm_retries, usage) if prompt.sources else None
        except LLMFailure as failure:
            answer = self.fallback(query, nodes, papers, failure, not_to_repeat(question, history), asked=question)
        else:
            answer = self.finish(query, nodes, prompt, raw, usage, not_to_repeat(question, history), asked=question)
        return found.noted(answer).model_copy(update={"question": typed})

    def stream(self, question: str, history: Sequence[Turn] | None = None) -> Iterator[Event]:
        """Status("retrieving"), Reading (the papers the model is given), Status("waiting") for the model,
        Status("writing") at its first token, the
        answer's text as the final answer will number it
        (LiveText), then Final with the validated answer, whose text a reader shows in place of the streamed
        one when they differ (an abstention, an offline answer for an empty reply).

        If the model fails, Status("fallback") is followed by the extractive answer's text and Final.
        """
        typed = question
        unresolved = needs_earlier(typed, history, self.settings_hash)
        if unresolved is not None:
            yield Final(answer=unresolved)
            return
        budget = Budget(self.settings.llm_timeout)
        rewriting = bool(format_history(history or []))  # the model first reads the conversation (search_query)
        yield Status(stage="rewriting" if rewriting else "retrieving")
        condensed = self.search_query(typed, history, budget)
        if rewriting:
            yield Status(stage="retrieving")
        since = time.monotonic()
        # the rewrite is asked again only when the papers found spell a word of the question otherwise
        found = self.find(typed, lambda q: condensed if q == typed else self.search_query(q, history, budget), history)
        question, query, nodes, papers = found.question, found.query, found.nodes, found.papers
        prompt = build_prompt(query.query_str, self.relevant(query, papers), self.settings)
        budget.exclude(since)  # the budget is the model's: retrieval is not charged to it
        if prompt.sources:  # what the model reads, shown while it reads: a local model may take half a minute
            passages = {p.paper_id: p for p in to_passages(nodes)}
            read = [passages.get(p.id) or Passage(paper_id=p.id, title=p.title, score=0.0, text="") for p in prompt.sources]
            yield Reading(papers=read)
        yield Status(stage="waiting")  # a local model may read the prompt for half a minute before it writes
        usage = Usage()
        live = LiveText(len(prompt.sources), self.settings.answer_sentences)
        try:
            if prompt.sources:
                for delta in stream_chat(self.llm, prompt.messages, budget, self.settings.llm_retries, usage):
                    if not live.raw:
                        yield Status(stage="writing")
                    if released := live.feed(delta):
                        yield TextDelta(text=released)
                if rest := live.finish():
                    yield TextDelta(text=rest)
        except LLMFailure as failure:
            # readers drop what streamed before this: it was abandoned (said first: the fallback's warning on
            # stderr then starts on a line of its own, not after the broken-off sentence)
            if self.settings.llm_fallback == "extractive":
                yield Status(stage="fallback")
            answer = self.fallback(query, nodes, papers, failure, not_to_repeat(question, history), asked=question)
            yield TextDelta(text=answer.text)
        else:
            answer = self.finish(
                query, nodes, prompt, "".join(live.raw) if prompt.sources else None, usage, not_to_repeat(question, history),
                asked=question,
            )
        yield Final(answer=found.noted(answer).model_copy(update={"question": typed}))

    def finish(
        self, query_bundle: QueryBundle, nodes: Sequence[NodeWithScore], prompt: Prompt, raw: str | None, usage: Usage,
        said: Sequence[str] = (), asked: str | None = None,
    ) -> Answer:
        """The validated Answer for the model's raw text (None: nothing to ask the model about; `asked`: the user's
        own question, when the query is a follow-up's search query, for an offline answer's checks)."""
        question = query_bundle.query_str
        shown = [n for n in nodes if n.node.node_id in {p.id for p in prompt.sources}]
        cleaned = clean(raw) if raw is not None else None
        common: dict[str, Any] = {
            "mode": self.settings.llm,
            "raw_text": raw or "",
            "prompt_tokens": usage.prompt_tokens or (prompt.tokens if raw is not None else 0),
            "completion_tokens": usage.completion_tokens or (count_tokens(raw) if raw else 0),
            "passages": to_passages(shown),
            "reasoning": (cleaned.reasoning if cleaned else "") or usage.reasoning,
        }
        text = cleaned.text if cleaned else ""
        if raw is None or abstains(text, len(prompt.sources)):
            answer, _ = self.composer.abstain(question, prompt.sources, self.settings_hash)
            return answer.model_copy(update={**common, "dropped_markers": len(markers(text))})
        if not text:  # only reasoning, or whitespace: nothing to show as the model's answer
            answer, _ = self.composer.compose(
                question, query_bundle.embedding or [], prompt.sources, self.settings_hash, said, asked=asked
            )
            thought = (cleaned is not None and cleaned.unfinished_reasoning) or bool(usage.reasoning)
            why = "stopped inside its reasoning" if thought else "wrote no answer text"
            if usage.finish_reason == "length":
                why += f" at its limit of {self.settings.llm_max_tokens} tokens (raise ASSISTANT_LLM_MAX_TOKENS)"
            notice = f"The model {why}; this answer was composed offline from the abstracts."
            notice += f" {answer.notice}" if answer.notice else ""
            return answer.model_copy(update={**common, "notice": notice, "mode": "extractive"})
        notices: list[str] = []
        cut = usage.finish_reason == "length"
        if cut:  # "… wide networks [1]. It also": the words after the last full sentence are no claim
            text = without_unfinished_end(text)
        text, written = capped(text, self.settings.answer_sentences)  # the limit the prompt states, held
        if written > self.settings.answer_sentences:
            notices.append(
                f"The model wrote {written} sentences; shown are the first {self.settings.answer_sentences} "
                "(ASSISTANT_ANSWER_SENTENCES)."
            )
        checked = validate(text, len(prompt.sources))
        cited = [prompt.sources[n - 1] for n in checked.sources]
        invented = sorted({n for n in markers(expand_ranges(text)) if not 1 <= n <= len(prompt.sources)})
        if invented:
            named = " and ".join(f"[{n}]" for n in invented)
            notices.append(
                f"The model cited {named}, which {'is' if len(invented) == 1 else 'are'} not among the abstracts it "
                f"was given; {'that marker was' if len(invented) == 1 else 'those markers were'} removed, so what "
                f"{'it' if len(invented) == 1 else 'they'} marked is not backed by a source."
            )
        if not cited:
            notices.append("The model cited none of the abstracts; treat this answer as unsupported.")
        loose = unbacked(checked.text, cited)
        if loose:
            notices.append(
                f"{len(loose)} of the answer's sentences share{'s' if len(loose) == 1 else ''} few words with the "
                "abstract it cites; read the quoted sentences before relying on "
                f"{'it' if len(loose) == 1 else 'them'}: “{loose[0]}”"
            )
        if usage.choices_seen and usage.finish_reason is None:  # the stream ended cleanly, but mid-reply
            notices.append("The model's reply ended without saying it was complete: the answer may be cut off.")
        if cut:
            notices.append(
                f"The model stopped at its limit of {self.settings.llm_max_tokens} tokens (ASSISTANT_LLM_MAX_TOKENS): "
                "the answer may be cut off, and an unfinished last sentence is left out."
            )
        return Answer(
            question=question,
            text=checked.text,
            citations=self.citations(checked.text, cited),
            abstained=False,
            settings_hash=self.settings_hash,
            support=model_support(checked.text, len(cited), checked.dropped, len(loose)),
            dropped_markers=checked.dropped,
            notice=" ".join(notices) or None,
            **common,
        )

    def citations(self, text: str, cited: Sequence[Paper]) -> list[Citation]:
        """Citation n for each cited paper, quoting its sentence closest to the answer sentences citing [n]."""
        citing: dict[int, list[str]] = {}
        for sentence in rough_sentences(text):
            plain = MARKER.sub("", sentence).strip()
            for n in dict.fromkeys(markers(sentence)):
                citing.setdefault(n, []).append(plain)
        stored = self.composer.sentences([p.id for p in cited])
        weights = self.composer.weights
        out: list[Citation] = []
        for n, paper in enumerate(cited, start=1):
            claim = " ".join(citing.get(n, [])) or text
            claim_terms = set(content_terms(claim))
            options = stored.get(paper.id) or [(s, []) for s in split_sentences(paper.abstract)]
            vector = np.asarray(self.retriever.embed_query(claim) if any(len(v) for _, v in options) else [])

            def score(option: tuple[str, Sequence[float] | np.ndarray]) -> float:
                sentence, vec = option
                dense = float(np.asarray(vec) @ vector) if len(vec) and vector.size else 0.0
                return dense + LEXICAL_WEIGHT * weights.overlap(claim_terms, set(content_terms(sentence)))

            quote = max(options, key=score)[0] if options else paper.abstract
            out.append(Citation.of(n, paper, quote))
        return out

    def fallback(
        self, query_bundle: QueryBundle, nodes: Sequence[NodeWithScore], papers: Sequence[Paper], failure: LLMFailure,
        said: Sequence[str] = (), asked: str | None = None,
    ) -> Answer:
        """The extractive answer with a notice, or LLMUnavailable when fallback is off (`said`: the conversation's
        earlier answers, which the offline answer does not repeat, as in the extractive mode)."""
        host = llm_host(self.settings)
        if self.settings.llm_fallback != "extractive":  # said once, by the error (it was logged first, twice over)
            # The reason's own advice when it has some (a 401 names the key), else the endpoint's settings.
            advice = "or" if "ASSISTANT_" in failure.reason else "check ASSISTANT_LLM_BASE_URL (or OPENAI_BASE_URL) and ASSISTANT_LLM_MODEL, or"
            raise LLMUnavailable(
                f"the LLM at {host} was unavailable ({failure.reason}); {advice} set ASSISTANT_LLM_FALLBACK=extractive "
                "to answer offline"
            ) from None
        log.warning("the LLM at %s was unavailable (%s)", host, failure.reason)
        answer, _ = self.composer.compose(
            query_bundle.query_str, query_bundle.embedding or [], papers, self.settings_hash, said, asked=asked
        )
        notice = f"The LLM at {host} was unavailable ({failure.reason}); this answer was composed offline from the abstracts."
        notice += f" {answer.notice}" if answer.notice else ""  # the part of a question it leaves unanswered
        return answer.model_copy(update={"passages": to_passages(nodes), "notice": notice, "mode": "extractive", "fallback": True})


# A sentence's end: its stop, any closing quote and markers after it ("[1].", ". [1]"), then a space or the
# end of the text (so "93.5" is no end).
_STOP = re.compile(r"[.!?][\"”’')]*(?:\s*\[[\d,;\s–-]+\])*(?=\s|$)")


def without_unfinished_end(text: str) -> str:
    """A reply cut at the token limit without the words after its last full sentence (all of it if none)."""
    ends = [found.end() for found in _STOP.finditer(text)]
    return text[: ends[-1]] if ends else text


# A sentence of the model's whose content terms the abstracts it cites hold less than this share of is not backed
# by them: "Flow matching trains a continuous normalizing flow … [1]" citing a quantization abstract was "strong".
GROUNDED = 0.3
GROUNDED_TERMS = 4  # ... judged only for a sentence of at least this many content terms


def unbacked(text: str, cited: Sequence[Paper]) -> list[str]:
    """The sentences of an answer (markers numbered 1..len(cited)) that share little with what they cite: fewer
    than GROUNDED of their content terms in the cited papers' titles and abstracts. A paraphrase keeps most of
    its source's terms; a claim the abstract never makes keeps few."""
    held = [set(content_terms(f"{p.title} {p.abstract}")) for p in cited]
    out: list[str] = []
    for sentence in rough_sentences(text):
        numbers = [n for n in markers(sentence) if 1 <= n <= len(cited)]
        terms = set(content_terms(MARKER.sub("", sentence)))
        if numbers and len(terms) >= GROUNDED_TERMS:
            backed = set().union(*(held[n - 1] for n in numbers))
            if len(terms & backed) < GROUNDED * len(terms):
                out.append(sentence.strip())
    return out


def model_support(text: str, n_cited: int, dropped: int, unbacked_sentences: int = 0) -> Support:
    """Strong when every claim of the model's answer cites a source (cite.uncited_claims: the sentences the page
    marks as citing nothing), no marker pointed nowhere and every cited sentence shares enough with what it cites
    (`unbacked_sentences`: those that do not); partial when some do; none when it cites nothing."""
    if not n_cited:
        return "none"
    return "strong" if not uncited_claims(text) and not dropped and not unbacked_sentences else "partial"


def abstains(text: str, n_sources: int) -> bool:
    """The model said the abstracts do not answer (the shared sentence or a paraphrase of it) and cited
    nothing that exists: "cannot answer … However, X [1]" is a partial answer, not an abstention."""
    flat = " ".join(MARKER.sub("", text).split()).lower()
    said = CANNOT_ANSWER.lower().rstrip(".") in flat or refuses(flat)
    return said and not any(1 <= n <= n_sources for n in markers(text))
