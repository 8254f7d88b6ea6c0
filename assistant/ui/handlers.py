"""What the page's events do: Assistant calls in, component values out; errors become Gradio errors."""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
import queue
import re
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import gradio as gr

from .. import data
from ..api import clean_question
from ..corpus import SUPPORTED
from ..errors import AssistantError, ConfigError, InvalidQuestion
from ..filters import Filters
from ..latex import readable_latex
from ..types import Answer, Event, Final, Paper, Passage, Reading, Status, TextDelta
from .render import (
    EARLIER_KEPT,
    EMPTY_SOURCES,
    STAGES,
    esc,
    md_literal,
    paper_rows,
    render_answer,
    render_panel,
    render_paper,
    render_progress,
    render_question,
    render_reading,
    render_sources,
    retire_links,
)

if TYPE_CHECKING:
    from ..api import Assistant

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
KEPT_EXPORTS = 64  # conversation files kept for download; Gradio copies each into its own cache when sent

BUNDLED_QUESTIONS = data.QUESTIONS  # shipped in the package (assistant/data/questions.jsonl)
UPLOAD_TYPES = SUPPORTED  # every format `assistant ingest` reads
# The Papers tab's export: label -> (format, file suffix); the CLI's `assistant export` has no limit.
EXPORT_CHOICES = {"BibTeX (.bib)": ("bibtex", "bib"), "RIS (.ris)": ("ris", "ris"), "CSV, Zotero columns (.csv)": ("csv", "csv"),
                  "CSL JSON, for pandoc (.json)": ("csl", "json")}
EXPORT_LIMIT = 5_000
SIMILAR_SHOWN = 5  # nearest papers listed under a source card and in the paper view
STOP_TICK_S = 0.25  # how often a silent answer looks for a Stop
PLOT_SLOTS = 2  # the report draws retrieval.png and by_kind.png
API_KEYS = ("answer", "abstained", "support", "citations", "mode", "settings_hash", "notice")


def page_filters(year: str | None, author: str | None, category: str | None, venue: str | None = None) -> Filters:
    """The page's filter boxes (comma-separated names) as Filters; a bad year range is a ConfigError that
    names the box, not the command line's option."""
    try:
        return Filters.parse(
            (year or "").strip() or None, (author or "").split(","), (category or "").replace(" ", ",").split(","),
            (venue or "").split(","),
        )
    except ConfigError as exc:
        raise ConfigError(str(exc).replace("--year", "the Years box", 1)) from None


def remembered_settings(answer_mode: str | None, retrieval_mode: str | None, top_k: float | None) -> dict[str, Any]:
    """The Settings the reader chose, as the browser keeps them across a reload."""
    return {"answer_mode": answer_mode, "retrieval_mode": retrieval_mode, "top_k": top_k}


def restored_settings(
    saved: object, answer_modes: Sequence[str], retrieval_modes: Sequence[str], top_k_range: tuple[int, int]
) -> tuple[Any, Any, Any]:
    """The Settings a reload left, for the answer mode radio, the retrieval mode radio and the Top-k slider: a
    reload set them back to the defaults while the page still looked chosen-for, so the next question went to
    the LLM after the reader had picked extractive. A value this server no longer offers (its LLM unset since)
    leaves the control at its default."""
    kept = saved if isinstance(saved, dict) else {}
    answer, retrieval, top_k = kept.get("answer_mode"), kept.get("retrieval_mode"), kept.get("top_k")
    low, high = top_k_range
    return (
        gr.update(value=answer) if answer in answer_modes else gr.update(),
        gr.update(value=retrieval) if retrieval in retrieval_modes else gr.update(),
        gr.update(value=int(top_k)) if isinstance(top_k, (int, float)) and low <= top_k <= high else gr.update(),
    )


def user_error(message: str) -> gr.Error:
    """An error the reader can fix, shown on the page. Gradio would print its traceback on the server's
    terminal too, where the README promises one line per answer; an unexpected error is logged instead."""
    return gr.Error(message, print_exception=False)


def _translate(exc: Exception) -> gr.Error:
    if isinstance(exc, gr.Error):
        exc.print_exception = False
        return exc
    if isinstance(exc, AssistantError):  # its message says how to fix the problem, and holds no secret
        return user_error(str(exc))
    log.exception("unexpected error in the page")
    return user_error("Something went wrong on the server; the server log has the details.")


def gradio_errors(fn: F) -> F:
    """AssistantError messages as Gradio errors; anything else as a generic error (details only in the log)."""
    if inspect.isgeneratorfunction(fn):

        @wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from fn(*args, **kwargs)
            except Exception as exc:
                raise _translate(exc) from None

        return gen_wrapper  # type: ignore[return-value]

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise _translate(exc) from None

    return wrapper  # type: ignore[return-value]


def _number(value: Any) -> Any:
    if value is None:
        return "–"
    if isinstance(value, float):
        return round(value, 1) if abs(value) >= 10 else round(value, 3)
    return value


def _content(message: dict[str, Any]) -> str:
    """A Chatbot message's HTML, whether it comes back as a string or as Gradio 6's list of text parts."""
    content = message.get("content")
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content or "")


SHOWN_PAPERS = 1_000  # table rows sent to the page: 100k rows would be tens of MB of JSON per visit


EXAMPLES_SHOWN = 4
NAMES_SCANNED = 200  # papers whose titles are read for names to ask about: a start at 100k papers reads no more
# "PowerNorm: Rethinking …", "NUPES : Non-Uniform …": a coined name (a capital or digit after its first letter:
# PowerNorm, SaRA, LC-PFN), maybe with one more word, before a colon; "Deep Learning: A Review" names nothing.
_NAMED_TITLE = re.compile(r"^\s*([A-Za-z][\w-]*?(?:[A-Z]|\d)[\w-]*(?: [A-Z][\w-]*)?)\s*:\s+\S")


def named_in_title(title: str) -> str | None:
    """The name a title gives its method before a colon, or None."""
    m = _NAMED_TITLE.match(title or "")
    return m[1] if m else None


def earlier_sources(turns: Sequence[dict[str, Any]]) -> list[tuple[int, str, str]]:
    """(turn, question, its sources panel) of each answer in `turns` that kept its panel, oldest first."""
    pairs = zip(turns[::2], turns[1::2])
    return [
        (n, str(asked.get("content") or ""), str(said["sources"]))
        for n, (asked, said) in enumerate(pairs, start=1)
        if isinstance(said, dict) and said.get("sources")
    ]


_HEADING = re.compile(r"^( {0,3})(#{1,6})(?=[ \t]|$)")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def inert(text: str) -> str:
    """Text for the exported Markdown that lays out as it reads but places nothing: no HTML tag, autolink, image or
    link ("<img src=…>", "![x](…)" in an added file's title or abstract, or quoted in a notice); the rest, [n] markers
    and a model's emphasis included, stays as written."""
    return text.replace("<", "&lt;").replace("](", "]\\(")


def demoted_headings(markdown: str) -> str:
    """A model's headings two levels down (at most ######), outside code fences: under the export's "## 2. question",
    its "## Summary" read as the next exchange of the conversation. Outside code, the text is made inert."""
    out: list[str] = []
    fence: str | None = None
    for line in markdown.split("\n"):
        if opened := _FENCE.match(line):
            mark = opened.group(1)
            fence = mark[0] * 3 if fence is None else (None if mark.startswith(fence) else fence)
        elif fence is None:
            line = inert(_HEADING.sub(lambda m: m.group(1) + "#" * min(6, len(m.group(2)) + 2), line, count=1))
        out.append(line)
    return "\n".join(out)


def conversation_markdown(turns: list[dict[str, Any]]) -> str:
    """# Conversation, then per exchange: the question as a heading, the answer, its references."""
    parts = ["# Conversation with Abstract Assistant", ""]
    number = 0
    for turn in turns:
        if turn.get("role") == "user":
            number += 1
            parts += [f"## {number}. {inert(' '.join(str(turn.get('content', '')).split()))}", ""]
        elif turn.get("role") == "assistant":
            parts += [demoted_headings(str(turn.get("content", "")).strip()), ""]
            said = [f"*{turn['mode']} answer, support: {turn['support']}*"] if turn.get("mode") and turn.get("support") else []
            if turn.get("notice"):
                said.append(f"Note: {inert(' '.join(str(turn['notice']).split()))}")
            parts += ["  \n".join(said), ""] if said else []
            references = turn.get("references") or []
            if references:
                parts += ["References:", ""] + [f"[{n}] {inert(str(ref))}  " for n, ref in enumerate(references, start=1)] + [""]
    return "\n".join(parts)


def wrote_by_model(answer: Answer) -> bool:
    """Whether a model wrote the answer's text (not the extractive composer, its fallback or a record lookup)."""
    return answer.mode not in ("extractive", "metadata")


def render_refusal(reason: str) -> str:
    """The status line for a question that was not asked: why, and how to fix it."""
    stop = "" if re.search(r"[.?!][\"”’]?$", reason) else "."  # "… like "What is X?"" ends already
    return f'<span class="aa-refused">Not asked: {md_literal(reason)}{stop}</span>'


class Handlers:
    """The page's event handlers over one shared, thread-safe Assistant."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self._lock = threading.Lock()
        self._running: dict[str | None, threading.Event] = {}  # browser session -> its answer's stop signal
        # Browser session -> the stop signal of a question sent but not yet started (waiting in Gradio's queue
        # behind other answers): a Stop pressed meanwhile is kept for it, not lost.
        self._waiting: dict[str | None, threading.Event] = {}
        # One folder for the page's conversation files, removed with the handlers: a folder per answer
        # was never removed, and a running page left one behind for every answer it gave.
        self.exports = Path(tempfile.mkdtemp(prefix="aa-conversations-"))
        weakref.finalize(self, shutil.rmtree, self.exports, True)

    def papers_of(self, answer: Answer) -> dict[str, Paper]:
        """The cited and retrieved papers of an answer, by id."""
        ids = dict.fromkeys([c.paper_id for c in answer.citations] + [p.paper_id for p in answer.passages])
        return {pid: paper for pid in ids if (paper := self.assistant.paper(pid)) is not None}

    def similar_of(self, answer: Answer) -> dict[str, list[Passage]]:
        """Each cited paper's nearest papers, for its card's "Similar papers" (one store search for all of
        them; a paper removed since the answer was written just has no list)."""
        return self.assistant.similar_to_each([c.paper_id for c in answer.citations], SIMILAR_SHOWN)

    # -- chat -----------------------------------------------------------------------------------------
    @gradio_errors
    def respond(
        self,
        question: str,
        chat: list[dict[str, Any]],
        turns: list[dict[str, Any]],
        answer_mode: str,
        retrieval_mode: str,
        top_k: float,
        year: str = "",
        author: str = "",
        category: str = "",
        venue: str = "",
        request: gr.Request | None = None,
    ) -> Iterator[tuple[Any, ...]]:
        """Stream one answer into the chat: progress, text as it comes, then the final answer and its sources.
        Stop (Handlers.stop, same browser session) ends it: the exchange leaves the chat, the question goes back
        in the box."""
        question = (question or "").strip()
        try:  # refused inline, beside the box, with the limit named: not an error pill, not a log trace
            clean_question(question, self.assistant.settings.max_question_chars)
            filters = page_filters(year, author, category, venue)
        except (InvalidQuestion, ConfigError) as exc:
            log.info("question refused: %s", str(exc).split(";")[0])
            yield gr.update(), gr.update(), gr.update(), gr.update(), render_refusal(str(exc))
            return
        turns = list(turns or [])
        turn = len(turns) // 2 + 1
        earlier = earlier_sources(turns)[-EARLIER_KEPT:]  # the panel keeps these answers' sources, folded
        # An earlier answer's [n] keeps its link while its sources are still in the panel
        kept = {n for n, _, _ in earlier}
        chat = [{"role": m["role"], "content": retire_links(_content(m), kept)} for m in chat or []]
        chat += [
            {"role": "user", "content": render_question(question)},
            {"role": "assistant", "content": render_progress("retrieving")},
        ]
        yield "", chat, turns, gr.update(), STAGES["retrieving"]
        text, answer, read = "", None, False
        model = answer_mode != "extractive"  # the text streams from a model: its Markdown is laid out

        def panel_before() -> Any:  # what the panel showed before a Reading list replaced it
            if not read:
                return gr.update()
            return render_panel(earlier[-1][2], earlier[:-1]) if earlier else EMPTY_SOURCES

        overrides = {"llm": answer_mode, "retrieval_mode": retrieval_mode, "top_k": int(top_k)}
        session = request.session_hash if request is not None else None
        with self._lock:  # this answer's own: a Stop of an earlier one cannot end it, nor it that one's
            stop = self._waiting.pop(session, None) or threading.Event()
            self._running[session] = stop
        try:
            if stop.is_set():  # stopped while it waited in the queue: nothing was asked
                yield question, chat[:-2], turns, gr.update(), STAGES["stopped"]
                return
            for event in self._until_stopped(self.assistant.stream(question, history=turns, filters=filters, **overrides), stop):
                if event is None:  # Stop: nothing of this exchange stays
                    yield question, chat[:-2], turns, panel_before(), STAGES["stopped"]
                    return
                if isinstance(event, Status):
                    text = "" if event.stage == "fallback" else text  # a broken-off reply is dropped, not kept above
                    model = model and event.stage != "fallback"
                    chat[-1] = {"role": "assistant", "content": render_progress(event.stage)}
                    yield gr.update(), chat, turns, gr.update(), STAGES.get(event.stage, event.stage)
                elif isinstance(event, Reading):  # a model's sources, shown while it reads and writes
                    found = {p.paper_id: paper for p in event.papers if (paper := self.assistant.paper(p.paper_id))}
                    read = True
                    yield gr.update(), chat, turns, render_panel(render_reading(event.papers, found), earlier), gr.update()
                elif isinstance(event, TextDelta):
                    text += event.text
                    chat[-1] = {"role": "assistant", "content": render_answer(text, turn, model=model)}
                    yield gr.update(), chat, turns, gr.update(), STAGES["writing"]
                elif isinstance(event, Final):
                    answer = event.answer
        except AssistantError as exc:  # give the question back to be fixed, then say what went wrong
            yield question, chat[:-2], turns, panel_before(), ""
            raise user_error(str(exc)) from None
        finally:
            with self._lock:
                if self._running.get(session) is stop:
                    del self._running[session]
        if answer is None:
            yield question, chat[:-2], turns, panel_before(), ""
            raise user_error("The answer stream ended early; try again.")
        papers = self.papers_of(answer)
        stored = self.assistant.sentences_of([c.paper_id for c in answer.citations])
        chat[-1] = {"role": "assistant", "content": render_answer(answer.text, turn, answer, papers, wrote_by_model(answer), stored)}
        shown = render_sources(answer, papers, turn, self.similar_of(answer), stored)
        for old in turns[: max(0, len(turns) - 2 * (EARLIER_KEPT - 1))]:  # out of the panel: not kept either
            old.pop("sources", None)
        turns += [
            {"role": "user", "content": question},
            # The references ride along for the export; the conversation history reads role and content.
            {
                "role": "assistant",
                "content": answer.text,
                "references": [c.reference(readable_latex(c.title)) for c in answer.citations],
                "paper_ids": [c.paper_id for c in answer.citations],
                # For the export too: who wrote it, how well the abstracts back it, and what the reader was told.
                "mode": answer.mode,
                "support": answer.support,
                "notice": answer.notice or "",
                "sources": shown,  # for the panel, folded, while later answers come (render_panel)
            },
        ]
        status = self.summary(answer) + (f" · only papers with {md_literal(filters.describe())}" if filters else "")
        turns[-1]["status"] = status  # shown again after a reload
        yield gr.update(), chat, turns, render_panel(shown, earlier), status

    @staticmethod
    def summary(answer: Answer) -> str:
        if answer.abstained and not answer.passages:  # the filters admitted no paper: none is closest
            return "Not answered: no paper is left to answer from."
        if answer.abstained:
            return "Not answered by the abstracts; the closest papers are listed beside the chat."
        n = len({c.paper_id for c in answer.citations})
        line = f"{n} source{'s' * (n != 1)} · support {answer.support} · {answer.mode} · settings {answer.settings_hash}"
        # the status line is Markdown: a notice quotes the question, a model's sentence or a title, so it is text
        return line + (f" · {md_literal(answer.notice)}" if answer.notice else "")

    @staticmethod
    def clear() -> tuple[Any, ...]:
        return "", [], [], EMPTY_SOURCES, "", gr.update(interactive=False)  # nothing left to retry

    # -- keeping and sharing a conversation ------------------------------------------------------------
    @staticmethod
    def snapshot(chat: list[dict[str, Any]], turns: list[dict[str, Any]], sources: str) -> dict[str, Any]:
        """What the browser keeps (its local storage) so a reload shows the conversation again."""
        return {"chat": chat or [], "turns": turns or [], "sources": sources or EMPTY_SOURCES}

    def restore(self, saved: dict[str, Any] | None) -> tuple[Any, ...]:
        """The conversation a reload left, with the last answer's status line, and Retry on when there is one."""
        saved = saved if isinstance(saved, dict) else {}
        chat, turns = list(saved.get("chat") or []), list(saved.get("turns") or [])
        status = str(turns[-1].get("status") or "") if turns else ""
        return chat, turns, saved.get("sources") or EMPTY_SOURCES, self.export_file(turns), status, gr.update(interactive=bool(turns))

    def references_bibtex(self, turns: list[dict[str, Any]]) -> Any:
        """The last answer's references as BibTeX, for the copy box under the sources (hidden when none)."""
        ids = list((turns or [{}])[-1].get("paper_ids") or []) if turns else []
        if not ids:
            return gr.update(value="", visible=False)
        try:  # to paste into a manuscript's .bib: references, not the abstracts (the Papers tab exports those)
            return gr.update(value=self.assistant.references(ids).strip() + "\n", visible=True)
        except AssistantError:  # a paper removed since the answer: no box rather than an error
            return gr.update(value="", visible=False)

    def export_file(self, turns: list[dict[str, Any]]) -> Any:
        """The conversation as a Markdown file (each answer with its [n] references) for the export button;
        nothing to download before the first answer. Files are named by their content (the same
        conversation is one file) and only the newest KEPT_EXPORTS stay."""
        if not turns:
            return gr.update(value=None, interactive=False)
        path = self._download(conversation_markdown(turns), "conversation.md")
        return gr.update(value=str(path), interactive=True)

    def _download(self, text: str, name: str) -> Path:
        """`text` as a file to download, kept under the plain `name` in a folder named by its content (the same
        text is one file); only the newest KEPT_EXPORTS downloads (conversations and paper exports) stay."""
        folder = self.exports / hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_text(text, encoding="utf-8")
        os.utime(folder)  # newest first below, a text sent again included
        older = sorted(self.exports.iterdir(), key=lambda f: f.stat().st_mtime, reverse=True)[KEPT_EXPORTS:]
        for stale in older:
            shutil.rmtree(stale, ignore_errors=True)
        return path

    def sent(self, request: gr.Request | None = None) -> None:
        """A question (or a retry) was sent from this browser session: until its answer starts, a Stop is kept for it."""
        with self._lock:
            self._waiting[request.session_hash if request is not None else None] = threading.Event()

    def settled(self, request: gr.Request | None = None) -> None:
        """The controls are back: nothing of this session is waiting any more (a retry with nothing to retry)."""
        with self._lock:
            self._waiting.pop(request.session_hash if request is not None else None, None)

    def stop(self, request: gr.Request | None = None) -> None:
        """Stop pressed: the answer this browser session is waiting for ends at its next event or tick; one still
        queued behind other sessions' answers ends as it starts."""
        session = request.session_hash if request is not None else None
        with self._lock:
            running = self._running.get(session) or self._waiting.get(session)
        if running is not None:
            running.set()

    @staticmethod
    def _until_stopped(events: Iterator[Event], stop: threading.Event) -> Iterator[Event | None]:
        """`events`, read in a thread of their own so that a Stop is seen while the model is silent (it may
        read the prompt for a minute): None when it comes. The stream is closed at its next event once the
        answer is stopped or no longer read (the page closed), which closes the connection to the model."""
        inbox: queue.Queue[tuple[str, Any]] = queue.Queue()

        def pump() -> None:
            try:
                for event in events:
                    inbox.put(("event", event))
                    if stop.is_set():
                        break
            except BaseException as exc:  # noqa: BLE001 - handed to the reader, raised there
                inbox.put(("error", exc))
            finally:
                inbox.put(("end", None))
                close = getattr(events, "close", None)
                if close is not None:
                    close()

        threading.Thread(target=pump, name="answer-stream", daemon=True).start()
        try:
            while True:
                try:
                    kind, item = inbox.get(timeout=STOP_TICK_S)
                except queue.Empty:
                    if stop.is_set():
                        yield None
                        return
                    continue
                if stop.is_set():
                    yield None
                    return
                if kind == "error":
                    raise item
                if kind == "end":
                    return
                yield item
        finally:  # read to its end, stopped, or abandoned by the page: the pump lets go at its next event
            stop.set()

    @staticmethod
    def pop_last(chat: list[dict[str, Any]], turns: list[dict[str, Any]]) -> tuple[Any, ...]:
        """Take the last exchange back out, returning its question for the retry."""
        if not turns:
            raise user_error("Nothing to retry yet.")
        return turns[-2]["content"], list(chat)[:-2], list(turns)[:-2]

    # -- headless API ---------------------------------------------------------------------------------
    def ask(self, question: str, year: str = "", author: str = "", category: str = "", venue: str = "") -> dict[str, Any]:
        """Answer a question with citations: {answer, abstained, support, citations: [{n, paper_id, title, quote, authors, year, url, venue}],
        mode, settings_hash, notice}. Optional filters as on the page: year "2019..2021", comma-separated
        authors, categories and venues (any of them)."""
        try:
            answer = self.assistant.ask(question, filters=page_filters(year, author, category, venue))
        except AssistantError as exc:
            raise user_error(str(exc)) from None
        data = answer.to_json()
        return {key: data[key] for key in API_KEYS}

    # -- papers ---------------------------------------------------------------------------------------
    def examples(self, fixed: Sequence[str], shown: int = EXAMPLES_SHOWN) -> list[str]:
        """The example questions to offer: those of `fixed` the store answers, then, for a library of one's own,
        "What is X?" for the names its papers' titles give their methods ("PowerNorm: Rethinking …"), as many as
        it answers, up to `shown` in all."""
        offered = self.answerable(list(fixed))
        if len(offered) < shown:
            try:
                named = dict.fromkeys(n for p in self.assistant.papers(limit=NAMES_SCANNED) if (n := named_in_title(p.title)))
            except Exception as exc:  # noqa: BLE001 - a nicety, as in answerable
                log.warning("example questions not drawn from the papers (%s)", type(exc).__name__)
                named = {}
            drawn = [f"What is {name}?" for name in named if f"What is {name}?" not in offered]
            offered += self.answerable(drawn[: 2 * (shown - len(offered))])
        return offered[:shown]

    def answerable(self, questions: list[str]) -> list[str]:
        """The questions this store's abstracts answer (offline and extractive, whatever the answer mode): a
        library without the seed papers is not offered examples about them that would only abstain."""
        kept = []
        try:
            if self.assistant.paper_count():
                kept = [q for q in questions if not self.assistant.ask(q, llm="extractive").abstained]
        except Exception as exc:  # noqa: BLE001 - a nicety: what fails here fails the first question too, and says why
            log.warning("example questions not offered (%s)", type(exc).__name__)
        return kept

    @gradio_errors
    def filter_papers(self, query: str) -> tuple[list[list[str]], str]:
        """Table rows of the papers matching `query` (at most SHOWN_PAPERS) and a line counting them.
        Without a query only the first rows are read: a start at 100k papers reads no other record."""
        total = self.assistant.paper_count()
        if (query or "").strip():
            found, matched = self.assistant.search_papers(query, SHOWN_PAPERS)
            rows = paper_rows(found)
        else:
            rows, matched = paper_rows(self.assistant.papers(limit=SHOWN_PAPERS)), total
        more = f" (the first {SHOWN_PAPERS:,} shown: add words to narrow)" if matched > SHOWN_PAPERS else ""
        return rows[:SHOWN_PAPERS], f"{matched:,} of {total:,} papers{more}"

    @gradio_errors
    def export_papers(self, query: str, label: str) -> Any:
        """Every paper the search matches (all of them without one) as a file in the format chosen by its label
        in EXPORT_CHOICES, for the Papers tab's download."""
        if label not in EXPORT_CHOICES:
            raise user_error(f"Choose an export format: {', '.join(EXPORT_CHOICES)}.")
        fmt, suffix = EXPORT_CHOICES[label]
        query = (query or "").strip()
        total = self.assistant.paper_count()
        found, matched = self.assistant.search_papers(query, EXPORT_LIMIT) if query else ([], total)
        if matched > EXPORT_LIMIT:
            raise user_error(
                f"{matched:,} papers match; the page exports up to {EXPORT_LIMIT:,} at once. Narrow the search, or run "
                f"`assistant export --format {fmt} -o FILE` for the whole store."
            )
        if not matched:
            raise user_error("No paper matches the search: nothing to export.")
        text = self.assistant.export([p.id for p in found] if query else None, fmt)  # type: ignore[arg-type]
        return gr.update(value=str(self._download(text, f"papers.{suffix}")), visible=True)

    def count_papers(self) -> int:
        return self.assistant.paper_count()

    @gradio_errors
    def open_row(self, evt: gr.SelectData) -> tuple[str, str]:
        pid = str(evt.row_value[0]) if evt.row_value else ""
        return pid, self._paper_view(pid)

    @gradio_errors
    def open_id(self, pid: str) -> str:
        pid = (pid or "").strip()
        paper = (self.assistant.paper(pid) or self.assistant.paper(pid.lower())) if pid else None
        if pid and paper is None:  # said where the abstract would be: a toast would cover the last one read
            return render_paper(None, missing=pid)
        return self._paper_view(paper.id) if paper else render_paper(None)

    def _paper_view(self, pid: str) -> str:
        """The abstract and its five nearest papers (Assistant.similar)."""
        paper = self.assistant.paper(pid) if pid else None
        return render_paper(paper, self.assistant.similar(pid, SIMILAR_SHOWN) if paper else ())

    # -- add abstracts --------------------------------------------------------------------------------
    @gradio_errors
    def add_files(self, files: list[str] | None, query: str) -> tuple[str, Any, str]:
        if not files:
            raise user_error(f"Choose one or more files first ({', '.join(UPLOAD_TYPES)}).")
        paths = [Path(f) for f in files]
        bad = [p.name for p in paths if p.suffix.lower() not in UPLOAD_TYPES]
        if bad:
            raise user_error(f"Only {', '.join(UPLOAD_TYPES)} files can be added (not {', '.join(bad)}).")
        report = self.assistant.ingest(paths)
        rows, count = self.filter_papers(query)
        lines = [f"**{md_literal(report.summary())}** · {self.count_papers()} papers in the store, searchable now."]
        if report.issues:  # said here, under the upload, not in a toast that would follow the user to other tabs
            lines.append(f"\n**⚠ {len(report.issues)} file(s) or line(s) could not be read:**")
            lines += [f"- {md_literal(str(issue))}" for issue in report.issues]  # issues quote the files: no markdown
        return "\n".join(lines), rows, count

    # -- evaluate -------------------------------------------------------------------------------------
    @gradio_errors
    def run_evaluation(
        self, upload: str | None, modes: list[str], k: float, progress: gr.Progress = gr.Progress()
    ) -> tuple[Any, ...]:
        path = Path(upload) if upload else BUNDLED_QUESTIONS
        if not path.exists():
            raise user_error("There is no bundled question file here; upload a .jsonl question file.")
        if not modes:
            raise user_error("Choose at least one retrieval mode.")
        out = Path(tempfile.mkdtemp(prefix="assistant-eval-"))

        def tick(done: int, total: int) -> None:
            progress((done, total), desc="Evaluating", unit="questions")

        result = self.assistant.evaluate(path, modes=list(modes), k=int(k), out=out, progress=tick)
        report = result.report
        retrieval = {mode: figures.dump() for mode, figures in report.retrieval.items()}  # under the report's keys
        keys = [key for key in next(iter(retrieval.values()), {}) if key != "cases"]
        retrieval_rows = [[mode, *(_number(m[key]) for key in keys)] for mode, m in retrieval.items()]
        answer_rows = [[key.replace("_", " "), _number(value)] for key, value in report.answers.dump().items()]
        summary = (
            f"**{report.cases} questions** ({report.answerable} answerable, {report.unanswerable} not), "
            f"**{report.failed} failed** · corpus {report.corpus_size} papers · answers {esc(report.answer_mode)} · "
            f"settings `{esc(report.settings_hash)}`"
        )
        if report.issues:  # in the summary, not a toast (see add_files)
            summary += f"\n\n**⚠ {len(report.issues)} line(s) of the question file did not run:**" + "".join(
                f"\n- line {i.line}: {md_literal(i.message)}" for i in report.issues  # they quote the file
            )
        out_dir = result.out_dir or out
        plots: list[str | None] = [str(p) for p in sorted(out_dir.glob("*.png"), key=lambda p: p.name != "retrieval.png")]
        plots = (plots + [None] * PLOT_SLOTS)[:PLOT_SLOTS]
        return (
            summary,
            gr.update(value=retrieval_rows, headers=["mode", *keys]),
            gr.update(value=answer_rows, headers=["metric", "value"]),
            *plots,
            sorted(str(p) for p in out_dir.iterdir() if p.is_file()),
        )
