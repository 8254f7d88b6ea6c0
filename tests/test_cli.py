"""The `assistant` command: JSON shapes, exit codes, and a real subprocess run."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.prompts import CANNOT_ANSWER


@pytest.fixture()
def on_seeded_store(monkeypatch: pytest.MonkeyPatch, seeded_store: Path) -> Path:
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(seeded_store))
    return seeded_store


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_papers_json_lists_74(on_seeded_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "papers", "--json")
    papers = json.loads(out)
    assert code == 0 and len(papers) == 74
    assert set(papers[0]) >= {"id", "title", "authors", "abstract", "sources"}


def test_ask_json_shape(on_seeded_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "ask", "How do hypernetworks stay stable during training?", "--json")
    data = json.loads(out)
    assert code == 0
    assert set(data) >= {"question", "answer", "abstained", "citations", "settings_hash"}
    assert data["citations"] and set(data["citations"][0]) == {"n", "paper_id", "title", "quote", "authors", "year", "url", "venue"}


def test_ask_abstains_in_json(on_seeded_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "ask", "What temperature should I roast a chicken at?", "--json")
    data = json.loads(out)
    assert code == 0 and data["abstained"] and data["answer"].startswith(CANNOT_ANSWER)


def test_retrieve_json(on_seeded_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "retrieve", "flow matching", "-k", "3", "--mode", "bm25", "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 3 and set(rows[0]) == {"paper_id", "title", "score", "text"}


def test_retrieve_bm25_says_why_fewer_papers_than_asked(on_seeded_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "retrieve", "flow matching", "-k", "70", "--mode", "bm25", "--local")
    shown = out.strip().splitlines()
    assert code == 0 and 0 < len(shown) < 70
    assert f"Only {len(shown)} papers hold a word of the question, and BM25 ranks no others" in err
    code, out, err = _run(capsys, "retrieve", "zebra", "--mode", "bm25", "--local")  # no word of it in any abstract
    assert code == 0 and out.strip() == "" and "No paper holds a word of the question" in err


def test_ingest_twice_embeds_nothing(store_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(store_copy))
    code, out, _ = _run(capsys, "ingest")
    assert code == 0 and out.strip() == "0 new, 0 updated, 74 unchanged, 0 removed, 0 skipped (nothing embedded)"


def test_ingest_warns_about_broken_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.txt").write_bytes(b"\x00\x00binary")
    good = "Abstract:" + "We measure things carefully and report what we find in detail. " * 4 + "\n"
    (tmp_path / "good.txt").write_text(good)
    code, out, err = _run(capsys, "ingest", str(tmp_path))
    assert code == 0 and out.startswith("1 new")
    assert "bad.txt" in err and "binary" in err
    # A file read with a remark (not UTF-8) is ingested, warned about, and not counted as skipped.
    (tmp_path / "latin.txt").write_bytes(("Abstract:" + "Caf\u00e9 results are measured with care and reported in full. " * 3 + "\n").encode("cp1252"))
    code, out, err = _run(capsys, "ingest", str(tmp_path / "latin.txt"))
    assert code == 0 and out.startswith("1 new, 0 updated, 0 unchanged, 0 removed, 0 skipped") and "Windows-1252" in err


@pytest.mark.parametrize("question", ["", "   "])
def test_empty_question_exits_2_without_traceback(on_seeded_store: Path, capsys: pytest.CaptureFixture[str], question: str) -> None:
    code, out, err = _run(capsys, "ask", question)
    assert code == 2 and out == ""
    assert err.startswith("error: the question is empty") and "Traceback" not in err


def test_real_subprocess_help_is_fast_and_ask_works(seeded_store: Path) -> None:
    env = {**os.environ, "ASSISTANT_STORE_DIR": str(seeded_store)}
    start = time.perf_counter()
    help_run = subprocess.run([sys.executable, "-m", "assistant", "--help"], capture_output=True, text=True, env=env)
    assert help_run.returncode == 0 and "example:" in help_run.stdout
    assert time.perf_counter() - start < 5  # the ML stack is not imported for --help
    probe = "import sys, assistant.cli; assistant.cli._parser(); print(sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'llama_index', 'chromadb'}))"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "[]"
    ask = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ask", "What is the Neural Tangent Kernel?"],
        capture_output=True, text=True, env=env,
    )
    assert ask.returncode == 0, ask.stderr
    assert "[1]" in ask.stdout and "References:" in ask.stdout  # flushed whole before the quick exit
    empty = subprocess.run([sys.executable, "-m", "assistant.cli", "retrieve", " "], capture_output=True, text=True, env=env)
    assert empty.returncode == 2 and empty.stderr.startswith("error: the question is empty")  # the code survives it


def test_one_shot_commands_run_without_the_cyclic_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    """ask, retrieve and papers exit right after their output (the collector cost 0.2-0.3 s of a cold ask);
    chat and the writing commands keep it."""
    import gc

    from assistant import cli

    collecting: dict[str, bool] = {}

    def command(argv: list[str]) -> int:
        collecting[argv[0]] = gc.isenabled()
        return 0

    monkeypatch.setattr(cli, "main", command)
    monkeypatch.setattr(os, "_exit", lambda code: None)
    monkeypatch.setattr(sys, "exit", lambda code: None)
    try:
        for argv in (["ask", "q"], ["retrieve", "q"], ["papers"], ["chat"], ["ingest"]):
            gc.enable()
            monkeypatch.setattr(sys, "argv", ["assistant", *argv])
            cli.entry()
    finally:
        gc.enable()
    assert collecting == {"ask": False, "retrieve": False, "papers": False, "chat": True, "ingest": True}


def test_ask_json_carries_the_support_level(seeded_store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(seeded_store))
    assert main(["ask", "What does the neural tangent kernel describe?", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["support"] in ("strong", "partial")


def test_similar_papers_exclude_the_paper_and_come_nearest_first(
    on_seeded_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "papers", "--json")
    ntk = next(p for p in json.loads(out) if p["title"].startswith("Neural Tangent Kernel: Convergence"))
    code, out, _ = _run(capsys, "similar", ntk["id"], "-k", "4", "--json")
    near = json.loads(out)
    assert code == 0 and len(near) == 4 and ntk["id"] not in [p["paper_id"] for p in near]
    scores = [p["score"] for p in near]
    assert scores == sorted(scores, reverse=True) and 0 < scores[-1] <= scores[0] < 1
    assert any("Infinite-Width" in p["title"] or "Tangent Kernel" in p["text"] for p in near[:2])
    code, out, err = _run(capsys, "similar", "no-such-id")
    assert code == 2 and out == "" and "no paper 'no-such-id'" in err and "assistant papers" in err


def test_ingest_on_a_terminal_shows_a_papers_per_second_bar(tmp_path: Path) -> None:
    """A streamed arXiv-snapshot file ingested by the CLI with stderr on a pseudo-terminal: a tqdm bar."""
    import pty

    snapshot = tmp_path / "arxiv-metadata-oai-snapshot.json"
    rows = [
        {"id": f"2101.{i:05d}", "title": f"Study {i}", "authors": "Ana Rivera and Bo Chen", "categories": "cs.LG",
         "abstract": f"We study problem number {i} of sequence modelling and show that a simple method solves it well.",
         "versions": [{"version": "v1", "created": "Mon, 4 Jan 2021 10:00:00 GMT"}]}
        for i in range(3)
    ]
    snapshot.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    import fcntl
    import struct
    import termios

    main_fd, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a new pty is 0 columns wide
    env = {**os.environ, "ASSISTANT_STORE_DIR": str(tmp_path / "store")}
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "ingest", str(snapshot)], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=terminal)
    os.close(terminal)
    shown = b""
    while True:
        try:
            got = os.read(main_fd, 4096)
        except OSError:  # the terminal closed: the command is done
            break
        if not got:
            break
        shown += got
    out, _ = proc.communicate(timeout=300)
    os.close(main_fd)
    text = shown.decode(errors="replace")
    assert proc.returncode == 0 and "3 new" in out.decode()
    assert "first use: embedding the seed abstracts" in text and "74/74" in text  # the seeds first, on an empty store
    assert "embedding: 100%" in text and "3/3" in text and "paper/s" in text, text[-500:]


def test_retrieve_says_when_the_filters_match_nothing(on_seeded_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "retrieve", "quantization", "--author", "Nobody Atall", "--json", "--local")
    assert (code, json.loads(out)) == (0, [])
    assert "No paper in the store matches the filters (author Nobody Atall); widen or drop them." in err


def test_export_to_a_folder_that_does_not_exist_exits_2_without_traceback(
    on_seeded_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "export", "-o", str(tmp_path / "missing" / "library.bib"))
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.startswith(f"error: cannot write {tmp_path / 'missing' / 'library.bib'} (No such file or directory)")


def test_export_takes_the_cite_key_ask_bibtex_gave_wherever_it_takes_an_id(
    on_seeded_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A researcher holding a key from `ask --bibtex` could not export the paper by it: ids only."""
    code, out, _ = _run(capsys, "ask", "How should a state-space model for deep learning be designed?", "--json", "--bibtex", "--local")
    data = json.loads(out)
    key, paper_id = data["bibtex"].split("{", 1)[1].split(",", 1)[0], data["citations"][0]["paper_id"]  # the first entry's
    assert key == "parnichkun" != paper_id  # derived from its authors: a key that is no id
    by_id = _run(capsys, "export", paper_id, "--format", "ris")
    assert _run(capsys, "export", key, "--format", "ris") == by_id and by_id[0] == 0 and f"ID  - {key}" in by_id[1]
    code, out, _ = _run(capsys, "export", key, paper_id, "--format", "csl")  # one paper, named twice
    assert code == 0 and [item["id"] for item in json.loads(out)] == [key]
    code, out, err = _run(capsys, "export", key, "nobody2099unknown")
    assert code == 2 and out == "" and "no paper 'nobody2099unknown'" in err
    assert "assistant papers" in err and "cite key" in err  # how to find either
    near = _run(capsys, "similar", paper_id, "-k", "3", "--json")  # `similar` took ids only
    assert _run(capsys, "similar", key, "-k", "3", "--json") == near and near[0] == 0 and len(json.loads(near[1])) == 3


def test_the_package_exports_what_the_readme_imports() -> None:
    import assistant
    from assistant.filters import Filters

    assert assistant.Filters is Filters and {"Assistant", "Filters", "Settings"} <= set(assistant.__all__)


def test_chat_sources_show_every_sentence_taken_and_a_mistyped_command_is_not_a_question() -> None:
    import io

    from assistant import terminal
    from assistant.types import Answer, Citation, Paper

    paper = Paper(id="p", title="Wide nets", abstract="Intro sentence here. We show that wide nets train fast. "
                  "Next, we prove a rate for deep nets. Experiments on four data sets agree.")
    answer = Answer(question="q", text="The authors show that wide nets train fast [1]. Next, the authors prove a rate for deep nets [1].",
                    citations=[Citation(n=1, paper_id="p", title="Wide nets", quote="We show that wide nets train fast.")],
                    abstained=False, settings_hash="h")
    shown = terminal.sources(answer, {"p": paper})
    assert "“We show that wide nets train fast.”" in shown and "“Next, we prove a rate for deep nets.”" in shown
    math = answer.model_copy(update={"text": "ΣAE connects two models [1].", "citations": [
        Citation(n=1, paper_id="q", title="SAE", quote="$\\Sigma$AE connects two models.")]})
    assert "“ΣAE connects two models.”" in terminal.sources(math, {})  # as the answer reads: a terminal shows no math

    class Never:
        def stream(self, *args: object, **kwargs: object) -> object:
            raise AssertionError("a command was asked as a question")

    lines, out = iter(["/sourcs", "/help me", "/sourcs please"]), io.StringIO()

    def read(prompt: str) -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    assert terminal.run(Never(), read, out) == 0  # type: ignore[arg-type]
    assert out.getvalue().count("unknown command /sourcs; /help lists them") == 2
    assert terminal.HELP in out.getvalue()  # "/help me" is /help


def test_piped_chat_whose_questions_failed_exits_1() -> None:
    import io

    from assistant import terminal
    from assistant.errors import LLMUnavailable

    class Down:
        def stream(self, *args: object, **kwargs: object) -> object:
            raise LLMUnavailable("the LLM at localhost:11434 was unavailable (could not connect)")

    for script in (["What is NTK?"], ["What is NTK?", "/quit"]):
        lines, out = iter(script), io.StringIO()

        def read(prompt: str, lines: Iterator[str] = lines) -> str:
            try:
                return next(lines)
            except StopIteration:
                raise EOFError from None

        assert terminal.run(Down(), read, out) == 1  # type: ignore[arg-type]  # stdin is not a terminal here
        assert "error: the LLM at localhost:11434 was unavailable" in out.getvalue()


def test_chat_with_a_bad_llm_setting_stops_before_the_first_question(
    on_seeded_store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSISTANT_LLM", "openai-compatible")
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", "sk-test-SECRET123")
    monkeypatch.setattr("sys.stdin", io.StringIO("What is NTK?\n"))
    code, out, err = _run(capsys, "chat")
    assert code == 2 and out == "" and err.startswith("error: ASSISTANT_LLM_BASE_URL must be an http(s) URL")
    assert "SECRET123" not in err



def test_a_terminal_shows_the_wait_for_the_model_and_clears_it() -> None:
    """A slow local model wrote nothing for tens of seconds; a terminal now sees the wait, a pipe does not."""
    import time

    from assistant import terminal
    from assistant.types import Answer, Final, Passage, Reading, Status, TextDelta

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    def events() -> Iterator[object]:
        yield Reading(papers=[Passage(paper_id=f"p{i}", title="T", score=0.0, text="") for i in range(3)])
        yield Status(stage="waiting")
        time.sleep(2.3)
        yield Status(stage="writing")
        yield TextDelta(text="An answer.")
        yield Final(answer=Answer(question="q", text="An answer.", citations=[], abstained=False, settings_hash="h"))

    for err, shown in ((Terminal(), True), (io.StringIO(), False)):
        out = io.StringIO()
        terminal.show(events(), out, err)  # type: ignore[arg-type]
        assert out.getvalue().startswith("An answer.")
        said = err.getvalue()
        if shown:  # a line a second (the second may come late on a loaded machine), then cleared
            assert said.startswith("\rwaiting for the model (3 abstracts to read)… 1 s"), repr(said)
            assert said.endswith("s\r\033[K"), repr(said)
        else:
            assert said == ""


def test_similar_k_is_checked_like_retrieve_k(seeded_store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(seeded_store))
    with pytest.raises(SystemExit) as exit_:
        main(["similar", "any", "-k", "-1"])
    assert exit_.value.code == 2 and "expected a whole number of 1 or more" in capsys.readouterr().err


def test_an_empty_folder_warns_and_an_empty_store_after_ingest_exits_4(
    tmp_path: Path, store_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(tmp_path / "store"))
    assert main(["ingest", str(tmp_path / "empty"), "--quiet"]) == 4
    err = capsys.readouterr().err
    assert "this folder holds no file we read" in err and "the store holds no abstracts" in err
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(store_copy))  # a store with papers: a warning, not a failure
    assert main(["ingest", str(tmp_path / "empty"), "--quiet"]) == 0
    mine = tmp_path / "mine"  # emptying a folder removes its papers: what was asked, even if the store ends empty
    mine.mkdir()
    (mine / "one.txt").write_text("A title\n\n" + "We prove that a kernel stays constant during the training of wide networks. " * 2)
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(tmp_path / "own"))
    assert main(["ingest", str(mine), "--quiet"]) == 0
    (mine / "one.txt").unlink()
    assert main(["ingest", str(mine), "--quiet"]) == 0


def test_version_and_question_files_of_another_shape(
    tmp_path: Path, seeded_store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.startswith("assistant ")
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(seeded_store))
    table = tmp_path / "q.csv"
    table.write_text("\ufeff\nid,question\n1,What is attention?\n")  # a BOM and a blank line first
    assert main(["eval", str(table), "--modes", "bm25", "--out", str(tmp_path / "ev")]) == 2
    assert "it looks like a table (CSV); question files are JSON lines" in capsys.readouterr().err
