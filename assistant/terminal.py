"""`assistant chat`: a conversation in the terminal, in one process (the model and indexes load once).

Follow-ups use the conversation as on the page ("What problem do they address?" stays on the paper of
the previous answer); /sources shows the last answer's sources with the quoted sentences.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, TextIO

from .cite import cited_sentences, format_references
from .errors import AssistantError
from .latex import readable_latex
from .types import Answer, Event, Final, Paper, Reading, Status, TextDelta

if TYPE_CHECKING:
    from .api import Assistant
    from .followup import Turn

HELP = (
    "Ask about the abstracts; follow-ups may refer to earlier answers.\n"
    "  /sources  the last answer's sources and the sentences quoted from them\n"
    "  /clear    start a new conversation\n"
    "  /help     this text\n"
    "  Ctrl-D or /quit to leave"
)


def answer_footer(answer: Answer) -> str:
    """What follows the answer text: its support when partial, its notice and its references."""
    parts = []
    if answer.support == "partial":
        parts.append("support: partial (the abstracts back this only in part; read the quoted sentences)")
    if answer.notice:
        parts.append(f"note: {answer.notice}")
    if answer.citations:
        parts.append("References:\n" + format_references([(c.n, c.reference(readable_latex(c.title))) for c in answer.citations]))
    return "\n\n".join(parts)


ABANDONED = "[the model stopped answering; the answer below was composed offline from the abstracts]"
REVISED = "[checked against the sources, the answer reads:]"


def sources(
    answer: Answer | None, papers: Mapping[str, Paper] | None = None, stored: Mapping[str, Sequence[str]] | None = None
) -> str:
    """Each cited paper with every sentence the answer took from it (`papers`: their records, to find
    them; without, each citation's own quote; `stored`: their sentences as the store keeps them)."""
    if answer is None or not answer.citations:
        return "no sources yet: ask a question first" if answer is None else "the last answer cited no source"
    taken = cited_sentences(answer.text, answer.citations, papers or {}, stored=stored)
    return "\n\n".join(
        # a terminal shows no math: "$\\Sigma$AE" reads as the answer wrote it, "ΣAE"
        f"[{c.n}] {readable_latex(c.title)}\n" + "\n".join(f"    “{readable_latex(q)}”" for q in taken.get(c.paper_id) or [c.quote])
        for c in answer.citations
    )


class Waiting:
    """While the model reads the prompt (half a minute on a laptop's CPU), a terminal's stderr shows
    "waiting for the model… 12 s", from the first second on; cleared when anything else comes. Nothing
    when stderr is not a terminal (a pipe or a log keeps only the answer)."""

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, reading: int = 0) -> None:
        """`reading`: how many abstracts the model was given (the stream's Reading event), said on the line."""
        if self._thread is not None or not self.err.isatty():
            return
        started = time.monotonic()
        what = f" ({reading} abstract{'s' * (reading != 1)} to read)" if reading else ""

        def tick() -> None:
            while not self._stop.wait(1.0):
                self.err.write(f"\rwaiting for the model{what}… {time.monotonic() - started:.0f} s")
                self.err.flush()

        self._stop.clear()
        self._thread = threading.Thread(target=tick, name="waiting-line", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        self.err.write("\r\033[K")  # the line is gone before the answer is printed
        self.err.flush()


def show(events: Iterator[Event], out: TextIO, err: TextIO | None = None) -> Answer:
    """Print an answer as it streams, then its footer; returns the answer. `err` (stderr by default) shows
    the wait for the model on a terminal."""
    waiting = Waiting(err or sys.stderr)
    try:
        return _show(events, out, waiting)
    finally:
        waiting.stop()


def _show(events: Iterator[Event], out: TextIO, waiting: Waiting) -> Answer:
    answer, streamed, reading = None, "", 0
    for event in events:
        if isinstance(event, Reading):
            reading = len(event.papers)
        if isinstance(event, Status) and event.stage in ("waiting", "rewriting"):  # the model is at work
            waiting.start(reading if event.stage == "waiting" else 0)
        else:
            waiting.stop()
        if isinstance(event, TextDelta):
            out.write(event.text)
            out.flush()
            streamed += event.text
        elif isinstance(event, Status) and event.stage == "fallback" and streamed:
            out.write(f"\n\n{ABANDONED}\n\n")  # the text above broke off; it is not the answer
            streamed = ""
        elif isinstance(event, Final):
            answer = event.answer
    assert answer is not None, "a stream ends with its Final answer"
    if " ".join(streamed.split()) != " ".join(answer.text.split()):  # the validated answer has the last word
        out.write(f"\n\n{REVISED}\n{answer.text}" if streamed.strip() else answer.text)
    footer = answer_footer(answer)
    out.write("\n" + (f"\n{footer}" if footer else "") + "\n")
    return answer


def run(assistant: Assistant, read: Callable[[str], str] = input, out: TextIO = sys.stdout) -> int:
    """The conversation loop; returns the exit code: 0 when the user leaves, 1 when questions piped in met
    errors (a script must see that they were not answered)."""
    history: list[Turn] = []
    last: Answer | None = None
    piped = not sys.stdin.isatty()
    failed = False
    if sys.stdin.isatty():
        import readline  # noqa: F401  (line editing and recall of earlier questions)

        out.write(HELP + "\n")
    while True:
        try:
            line = read("\n? " if sys.stdin.isatty() else "").strip()
        except EOFError:
            out.write("\n")
            return 1 if failed and piped else 0
        except KeyboardInterrupt:  # Ctrl-C drops the line being typed, as in a shell
            out.write("\n")
            continue
        if not line:
            continue
        word = line.split()[0]
        if re.fullmatch(r"/[A-Za-z?]+", word):  # "/help me" is /help, not a question; "/foo" a mistyped command
            line = word
        if line in ("/quit", "/exit"):
            return 1 if failed and piped else 0
        if line in ("/help", "/?"):
            out.write(HELP + "\n")
            continue
        if line == "/sources":
            cited = [c.paper_id for c in last.citations] if last else []
            out.write(sources(last, {pid: p for pid in cited if (p := assistant.paper(pid))}, assistant.sentences_of(cited)) + "\n")
            continue
        if line == "/clear":
            history, last = [], None
            out.write("(new conversation)\n")
            continue
        if line.startswith("/") and " " not in line:  # "/foo": a mistyped command, not a question
            out.write(f"unknown command {line}; /help lists them\n")
            continue
        try:
            last = show(assistant.stream(line, history=history), out)
        except AssistantError as exc:
            out.write(f"error: {exc}\n")
            failed = True
            continue
        except KeyboardInterrupt:  # stop this answer, keep the conversation
            out.write("\n(stopped)\n")
            continue
        history += [{"role": "user", "content": line}, {"role": "assistant", "content": last.text}]
