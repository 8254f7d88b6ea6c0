"""Hardening matrix, faults: a killed ingest, corrupt and foreign stores, and every way an LLM can fail.

Covered elsewhere: Store-level corrupt/foreign/other-settings refusals and a simulated orphan
(test_index); one test per LLM fault with its notice text (test_llm). This file kills a real
`assistant ingest` with SIGKILL, drives the store faults through the CLI, and runs every LLM fault
through `ask` and `stream` against one time bound.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from conftest import closed_port_url  # noqa: E402
from fake_openai import FakeOpenAI, Reply  # noqa: E402
from test_hardening_inputs import assert_store_consistent  # noqa: E402

from assistant.api import Assistant  # noqa: E402
from assistant.cite import all_resolve  # noqa: E402
from assistant.cli import main  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.corpus import load_corpus, merge, parse_jsonl  # noqa: E402
from assistant.errors import LLMUnavailable  # noqa: E402
from assistant.store import JOURNAL, Store  # noqa: E402
from assistant.types import Final, Status  # noqa: E402

NTK = "What does the neural tangent kernel describe?"
KEY = "sk-faults-SECRET456"


def topic_abstract(n: int) -> str:
    return (
        f"We study problem number {n} of representation learning in depth. The proposed estimator for problem {n} "
        f"improves accuracy on standard benchmarks while using fewer parameters than prior work. We analyse why it "
        f"works, prove a bound on its error, and release code. Experiments on {n + 3} data sets confirm the theory."
    )


# -- crash safety -------------------------------------------------------------------------------------
# `assistant ingest` in a child process that SIGKILLs itself at the worst moment: the 6th paper's
# vectors are in Chroma, its paper record is not.
KILL_BEFORE_6TH_RECORD = """
import os, signal, sys
from chromadb.api.models.Collection import Collection
from assistant.cli import main

records = 0
upsert = Collection.upsert

def upsert_or_die(self, *args, **kwargs):
    global records
    records += 1
    if records == 6:
        os.kill(os.getpid(), signal.SIGKILL)
    return upsert(self, *args, **kwargs)

Collection.upsert = upsert_or_die
sys.exit(main(sys.argv[1:]))
"""


def kill_from_outside(proc: subprocess.Popen[bytes], journal: Path) -> None:
    """SIGKILL as soon as the 6th write names its paper in the journal: wherever that write has got to."""
    groups: list[str] = []
    deadline = time.monotonic() + 240
    while len(groups) < 6 and proc.poll() is None and time.monotonic() < deadline:
        try:
            seen = journal.read_text()
        except OSError:
            seen = ""
        if seen and (not groups or groups[-1] != seen):
            groups.append(seen)
        time.sleep(0.0005)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)


@pytest.mark.parametrize("kill", ["from outside, mid-write", "between vectors and record"])
@pytest.mark.slow
def test_sigkill_midway_then_rerun_gives_exactly_the_papers(
    kill: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "papers.jsonl"
    corpus.write_text("".join(json.dumps({"title": f"Problem {n}", "abstract": topic_abstract(n)}) + "\n" for n in range(40)))
    store = tmp_path / "store"
    env = {**os.environ, "ASSISTANT_STORE_DIR": str(store), "ASSISTANT_INGEST_BATCH": "1"}  # one paper per write
    journal = store / JOURNAL
    command = [sys.executable, "-m", "assistant.cli"] if kill.startswith("from outside") else [sys.executable, "-c", KILL_BEFORE_6TH_RECORD]
    proc = subprocess.Popen(
        [*command, "ingest", str(corpus), "--quiet"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        if kill.startswith("from outside"):
            kill_from_outside(proc, journal)
    finally:
        if proc.poll() is None and not kill.startswith("from outside"):
            proc.wait(timeout=240)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"the ingest ended on its own before the kill: {err.decode()[-500:]}"
    assert journal.exists()  # killed in the middle of a write
    [half_written] = json.loads(journal.read_text())
    killed = Store(Settings(store_dir=store))
    done = set(killed.stored())
    owners = {m["paper_id"] for m in killed.chunks.get(include=["metadatas"])["metadatas"]}
    recorded = half_written in done  # killed after its record was written but before the journal was cleared
    assert (len(done), recorded) in {(5, False), (6, True)}
    if kill == "between vectors and record":
        assert half_written in owners and not recorded  # the worst case really happened: orphan vectors

    # Run it again without the half-written paper in the file: only the journal can tell that its
    # vectors are orphans. Everything else completes.
    rows = [line for line in corpus.read_text().splitlines() if half_written not in {p.id for p in papers_in(line)}]
    corpus.write_text("\n".join(rows) + "\n")
    code = main(["ingest", str(corpus), "--json"])
    out, err_text = capsys.readouterr()
    assert code == 0, err_text
    report = json.loads(out)
    assert report["new"] == 39 - len(done - {half_written}) and report["updated"] == 0
    assert report["removed"] == int(recorded)
    expected = {p.id for p in load_corpus([corpus]).papers}
    assert len(expected) == 39 and half_written not in expected
    assert set(Store(Settings(store_dir=store)).stored()) == expected
    assert_store_consistent(store, 39)
    assert not journal.exists()


def papers_in(jsonl_line: str) -> list[Any]:
    drafts, _ = parse_jsonl(jsonl_line, "x.jsonl")
    return merge(drafts)


# -- corrupt and foreign stores -----------------------------------------------------------------------
def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def garbage_store(store: Path, small_store: Path) -> None:
    store.mkdir()
    (store / "chroma.sqlite3").write_bytes(b"this is not a database" * 500)


def truncated_store(store: Path, small_store: Path) -> None:
    shutil.copytree(small_store, store)
    db = store / "chroma.sqlite3"
    with db.open("r+b") as handle:
        handle.truncate(db.stat().st_size // 2)


def scribbled_store(store: Path, small_store: Path) -> None:
    shutil.copytree(small_store, store)
    with (store / "chroma.sqlite3").open("r+b") as handle:
        handle.seek(4096)
        handle.write(b"\xff" * 65536)


@pytest.mark.parametrize("damage", [garbage_store, truncated_store, scribbled_store], ids=["garbage", "truncated", "scribbled"])
def test_corrupt_store_exits_4_then_rebuild_keeps_user_files(
    damage: Any, small_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store"
    damage(store, small_store)
    (store / "my-notes.txt").write_text("the user's own file, next to the store")
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "mine.jsonl").write_text(json.dumps({"title": "Problem 1", "abstract": topic_abstract(1)}) + "\n")
    before = digest(inputs)
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(store))

    code, out, err = run(capsys, "ask", NTK)
    assert code == 4 and out == "" and "Traceback" not in err and err.count("\n") == 1
    assert "`assistant ingest --rebuild`" in err and str(store) in err

    code, out, err = run(capsys, "ingest", str(inputs), "--rebuild")
    assert code == 0, err
    assert out.startswith("1 new")
    assert (store / "my-notes.txt").read_text() == "the user's own file, next to the store"
    assert digest(inputs) == before
    assert [p.title for p in Assistant(Settings(store_dir=store)).papers()] == ["Problem 1"]


def test_foreign_folder_is_refused_even_with_rebuild_and_left_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "Documents"
    (home / "thesis").mkdir(parents=True)
    (home / "thesis" / "draft.tex").write_text("\\section{Intro}")
    (home / "photo.jpg").write_bytes(bytes(range(256)))
    before = digest(home)
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(home))
    for argv in (["ask", NTK], ["papers"], ["ingest", "--rebuild"]):
        code, out, err = run(capsys, *argv)
        assert code == 4 and out == "", argv
        assert "not an Abstract Assistant store" in err and "ASSISTANT_STORE_DIR" in err
    assert digest(home) == before


def test_store_path_that_is_a_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "store"
    target.write_text("not a folder")
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(target))
    code, _, err = run(capsys, "ingest", "--rebuild")
    assert code == 4 and "is a file, not a directory" in err and target.read_text() == "not a folder"


def test_store_built_with_other_settings_exits_4(
    small_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store"
    shutil.copytree(small_store, store)
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(store))
    monkeypatch.setenv("ASSISTANT_CHUNK_SIZE", "200")
    code, out, err = run(capsys, "ask", NTK)
    assert code == 4 and out == "" and "window-sized chunks" in err and "200-word-piece chunks" in err and "--rebuild" in err


def test_empty_store_and_no_seeds_exits_4_saying_what_to_ingest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSISTANT_SEEDS_DIR", str(tmp_path / "no-seeds-here"))
    code, out, err = run(capsys, "ask", NTK)
    assert code == 4 and out == "" and "no-seeds-here" in err and "ASSISTANT_SEEDS_DIR" in err


# -- LLM faults ------------------------------------------------------------------------------------------
TIMEOUT = 1.5
SLACK = 3.0  # retrieval, the extractive fallback and a loaded CI machine
GOOD = "The NTK describes how a network evolves during training [1]."



FAULTS: dict[str, Reply | None] = {
    "refused": None,
    "slow beyond the timeout": Reply(text=GOOD, delay=30),
    "429 with Retry-After": Reply(status=429, text="slow down", headers={"Retry-After": "1"}),
    "429 with a long Retry-After": Reply(status=429, headers={"Retry-After": "3600"}),
    "500": Reply(status=500),
    "503 with an HTML body": Reply(status=503, text="<html><body>Service Unavailable</body></html>"),
    "malformed JSON": Reply(raw_body=b'{"choices": [{"message": {"content": "The NTK'),
    "JSON without choices": Reply(raw_body=b'{"id": "x", "choices": []}'),
    "empty answer": Reply(text=""),
}


def faulty_assistant(small_store: Path, base_url: str, **overrides: Any) -> Assistant:
    values: dict[str, Any] = {
        "store_dir": small_store, "llm": "openai-compatible", "llm_base_url": base_url, "llm_api_key": KEY,
        "llm_model": "test-model", "llm_timeout": TIMEOUT, "llm_retries": 2,
    }
    a = Assistant(Settings(**(values | overrides)))
    a.papers()  # open the store before the clock starts: the bound is about the LLM
    return a


def with_fault(fault: str, fn: Any) -> tuple[Any, float]:
    reply = FAULTS.get(fault)
    if fault == "stream cut midway":
        reply = Reply(text=GOOD * 3, cut_after=2)
    if reply is None:
        started = time.monotonic()
        return fn(closed_port_url()), time.monotonic() - started
    with FakeOpenAI(default=reply) as fake:
        started = time.monotonic()
        result = fn(fake.base_url)
        return result, time.monotonic() - started


def assert_clean_fallback(answer: Any) -> None:
    assert answer.mode == "extractive" and answer.notice and "was unavailable" in answer.notice
    assert "composed offline" in answer.notice and "\n" not in answer.notice
    assert answer.citations and all_resolve(answer.text, len(answer.citations))
    assert KEY not in answer.model_dump_json()


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.slow
def test_llm_fault_in_ask_falls_back_within_the_bound(fault: str, small_store: Path) -> None:
    answer, elapsed = with_fault(fault, lambda url: faulty_assistant(small_store, url).ask(NTK))
    assert elapsed < TIMEOUT + SLACK, f"{fault}: {elapsed:.1f} s"
    assert_clean_fallback(answer)


@pytest.mark.parametrize("fault", [*FAULTS, "stream cut midway"])
@pytest.mark.slow
def test_llm_fault_in_stream_falls_back_within_the_bound(fault: str, small_store: Path) -> None:
    events, elapsed = with_fault(fault, lambda url: list(faulty_assistant(small_store, url).stream(NTK)))
    assert elapsed < TIMEOUT + SLACK, f"{fault}: {elapsed:.1f} s"
    assert [e.stage for e in events if isinstance(e, Status)][-1] == "fallback"
    assert isinstance(events[-1], Final)
    assert_clean_fallback(events[-1].answer)


@pytest.mark.parametrize("fault", ["refused", "slow beyond the timeout", "429 with Retry-After", "malformed JSON"])
def test_llm_fault_without_fallback_is_one_clean_error_within_the_bound(fault: str, small_store: Path) -> None:
    def ask(url: str) -> BaseException:
        with pytest.raises(LLMUnavailable) as info:
            faulty_assistant(small_store, url, llm_fallback="none").ask(NTK)
        return info.value

    error, elapsed = with_fault(fault, ask)
    assert elapsed < TIMEOUT + SLACK, f"{fault}: {elapsed:.1f} s"
    message = str(error)
    assert message.startswith("the LLM at 127.0.0.1:") and "\n" not in message and KEY not in message
    assert error.__cause__ is None and "ASSISTANT_LLM_FALLBACK=extractive" in message
