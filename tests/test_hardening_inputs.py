"""Hardening matrix, bad input: odd questions and broken files to ingest.

Rows already covered elsewhere: empty/whitespace questions raise InvalidQuestion (test_api) and exit 2
from the CLI (test_cli); corpus-level parsing of empty, binary, Latin-1, bad-JSONL and column-less
CSV files (test_corpus). This file adds the rest, end to end through `ask` and `assistant ingest`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from assistant.api import Assistant
from assistant.cite import all_resolve
from assistant.cli import main
from assistant.config import Settings
from assistant.corpus import MAX_FILE_BYTES
from assistant.errors import InvalidQuestion
from assistant.store import Store
from assistant.prompts import CANNOT_ANSWER

NTK = "What does the neural tangent kernel describe?"


# -- questions --------------------------------------------------------------------------------------
def test_a_megabyte_question_is_refused_quickly_with_the_limit(small_assistant: Assistant) -> None:
    huge = "why? " * 200_000
    started = time.monotonic()
    with pytest.raises(InvalidQuestion) as info:
        small_assistant.ask(huge)
    with pytest.raises(InvalidQuestion):
        list(small_assistant.stream(huge))
    assert time.monotonic() - started < 5  # refused before any retrieval work
    assert "999,999 characters; the limit is 2,000" in str(info.value)  # measured after trimming
    assert "ASSISTANT_MAX_QUESTION_CHARS" in str(info.value)


def test_a_megabyte_question_exits_2_from_the_cli(
    monkeypatch: pytest.MonkeyPatch, small_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(small_store))
    code = main(["ask", "x" * 1_000_000, "--json"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith("error: the question is 1,000,000 characters") and err.count("\n") == 1


def test_a_question_at_the_limit_is_answered(small_assistant: Assistant) -> None:
    limit = small_assistant.settings.max_question_chars
    question = (NTK + " ") * (limit // (len(NTK) + 1))
    assert len(question.strip()) <= limit
    answer = small_assistant.ask(question)
    assert answer.citations and all_resolve(answer.text, len(answer.citations))


ODD_QUESTIONS = {
    "control characters": "What does the\x00 neural\x07 tangent\x0b kernel\x7f describe?\r\n",
    "terminal colour codes": "\x1b[1;31mWhat does the neural tangent kernel describe?\x1b[0m",
    "emoji": "🤖 What does the neural tangent kernel 🧠 describe? 🙏",
    "right-to-left": "מה מתאר ה-neural tangent kernel? ما هو",
    "another language": "Was beschreibt der neuronale Tangentenkern beim Training breiter Netze?",
    "only symbols": "?!?! ¿¡ … — ∑∫ ≠",
    "zero-width and combining": "neu\u200bral tan\u200dgent ke\u0301rnel\ufeff",
    "markup": "<script>alert(1)</script> ![x](http://evil.example/x.png) [99]",
    "only a marker": "[1]",
    # bytes that were not UTF-8, as Python hands them over from argv or stdin (surrogateescape)
    "undecodable bytes": b"What does the \xff\xfe neural tangent kernel describe?".decode("utf-8", "surrogateescape"),
}


@pytest.mark.parametrize("question", list(ODD_QUESTIONS.values()), ids=list(ODD_QUESTIONS))
def test_odd_questions_are_answered_or_abstained_never_a_crash(small_assistant: Assistant, question: str) -> None:
    answer = small_assistant.ask(question)
    assert answer.text.strip()
    assert answer.abstained == answer.text.startswith(CANNOT_ANSWER)
    assert answer.abstained or answer.citations
    assert all_resolve(answer.text, len(answer.citations))
    assert not any(ord(c) < 32 and c not in "\n\t" for c in answer.question)  # control characters removed
    json.dumps(answer.to_json(), ensure_ascii=False)


@pytest.mark.parametrize("kind", ["control characters", "terminal colour codes", "undecodable bytes"])
def test_control_characters_do_not_change_the_answer(small_assistant: Assistant, kind: str) -> None:
    plain = small_assistant.ask(NTK)
    noisy = small_assistant.ask(ODD_QUESTIONS[kind])
    assert noisy.question == NTK and noisy.text == plain.text


def test_unicode_question_round_trips_through_the_cli_json(
    monkeypatch: pytest.MonkeyPatch, small_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(small_store))
    code = main(["ask", ODD_QUESTIONS["emoji"], "--json"])
    out, _ = capsys.readouterr()
    assert code == 0 and json.loads(out)["question"] == ODD_QUESTIONS["emoji"].strip()


def test_bad_settings_exit_2_with_the_variable_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSISTANT_TOP_K", "lots")
    monkeypatch.setenv("ASSISTANT_RETRIEVAL_MODE", "psychic")
    code = main(["ask", NTK])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1
    assert "ASSISTANT_TOP_K" in err and "ASSISTANT_RETRIEVAL_MODE" in err and ".env.example" in err
    assert "lots" not in err and "psychic" not in err  # values are never echoed: one of them could be a key


def test_a_non_positive_k_is_refused_by_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["retrieve", NTK, "-k", "0"])
    assert info.value.code == 2 and "1 or more" in capsys.readouterr().err


# -- files to ingest ----------------------------------------------------------------------------------
def abstract(topic: str) -> str:
    return (
        f"We study {topic} in depth. The proposed method for {topic} improves accuracy on standard benchmarks "
        f"while using fewer parameters than prior work. Experiments on several {topic} data sets confirm it."
    )


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with one of every broken input beside good ones, and the same paper in three files."""
    folder = tmp_path_factory.mktemp("messy") / "inbox"
    folder.mkdir()
    (folder / "empty.txt").write_text("")
    (folder / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    (folder / "latin1.txt").write_bytes(("Abstract:" + abstract("caf\xe9 recommendation")).encode("cp1252"))
    big_line = "Abstract:" + abstract("oversized files") + "\n"
    (folder / "huge.txt").write_text(big_line * (50 * 2**20 // len(big_line) + 1))
    (folder / "lines.jsonl").write_text(
        json.dumps({"title": "Sparse kittens", "abstract": abstract("sparse kittens")}) + "\n"
        "{broken json\n"
        + json.dumps({"title": "No abstract here"}) + "\n"
        + json.dumps(["a", "list"]) + "\n"
        + json.dumps({"title": "Shared paper", "abstract": abstract("shared papers")}) + "\n"
        + json.dumps({"id": "mine-1", "title": "Given id A", "abstract": abstract("given ids A")}) + "\n"
        + json.dumps({"id": "mine-1", "title": "Given id B", "abstract": abstract("given ids B")}) + "\n"
    )
    (folder / "nocolumn.csv").write_text("title,summary\nA paper," + abstract("summaries") + "\n")
    (folder / "shared.csv").write_text('title,abstract\nShared paper,"' + abstract("shared papers") + '"\n')
    (folder / "good.txt").write_text(
        "Shared paper\n\n" + abstract("shared papers") + "\n\nAbstract:" + abstract("quiet llamas") + "\n"
    )
    (folder / "notes.md").write_text("ignored: not a supported type inside a folder")
    return folder


EXPECTED_TOPICS = {"café recommendation", "sparse kittens", "shared papers", "given ids A", "given ids B", "quiet llamas"}


def test_every_broken_file_is_named_and_the_good_content_ingested_once(
    messy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (messy / "huge.txt").stat().st_size > MAX_FILE_BYTES
    store = tmp_path / "store"
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(store))
    started = time.monotonic()
    code = main(["ingest", str(messy), str(messy / "good.txt"), "--json"])  # good.txt named twice on purpose
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    where = {(i["source"], i["line"]) for i in report["issues"]}
    assert {("empty.txt", None), ("binary.txt", None), ("latin1.txt", None), ("huge.txt", None)} <= where
    assert {("lines.jsonl", 2), ("lines.jsonl", 3), ("lines.jsonl", 4), ("nocolumn.csv", None)} <= where
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == len(report["issues"])
    messages = "\n".join(warnings)
    assert "huge.txt: file is 50.0 MB, over the 10 MB limit for abstract-page files, which are read whole; split it" in messages
    assert "lines.jsonl:2: not valid JSON" in messages and "lines.jsonl:3: missing 'abstract'" in messages
    assert "nocolumn.csv: CSV has no 'abstract' column (columns: title, summary)" in messages
    assert "latin1.txt: not valid UTF-8" in messages and "re-save the file as UTF-8" in messages
    assert "'mine-1' is already used by another abstract" in messages
    assert time.monotonic() - started < 120  # the 50 MB file is refused by its size, not parsed

    papers = Assistant(Settings(store_dir=store)).papers()
    topics = {t for t in EXPECTED_TOPICS for p in papers if f"We study {t} in depth" in p.abstract}
    assert topics == EXPECTED_TOPICS and len(papers) == len(EXPECTED_TOPICS)
    shared = next(p for p in papers if p.title == "Shared paper")
    assert sorted(shared.sources) == ["good.txt", "lines.jsonl", "shared.csv"]
    assert not any("oversized" in p.abstract for p in papers)
    assert_store_consistent(store, len(EXPECTED_TOPICS))

    code = main(["ingest", str(messy), "--json"])
    again = json.loads(capsys.readouterr().out)
    assert code == 0 and (again["new"], again["updated"], again["unchanged"], again["removed"]) == (0, 0, 6, 0)
    assert_store_consistent(store, len(EXPECTED_TOPICS))


def assert_store_consistent(store_dir: Path, n_papers: int) -> None:
    """Exactly n papers; every chunk and sentence belongs to one of them; every paper has both."""
    store = Store(Settings(store_dir=store_dir))
    ids = set(store.stored())
    assert len(ids) == store.count() == n_papers
    got = store.chunks.get(include=["metadatas"])
    owners = [m["paper_id"] for m in got["metadatas"]]
    assert set(owners) == ids  # no orphans, nobody missing
    assert len(got["ids"]) == len(set(got["ids"]))
    keys = [(m["paper_id"], m["position"]) for m in got["metadatas"]]
    assert len(keys) == len(set(keys))  # no paper's chunk stored twice
    sets = store.sentence_sets.get(include=["metadatas"])
    assert set(sets["ids"]) == ids and [m["paper_id"] for m in sets["metadatas"]] == sets["ids"]  # one set a paper
    sentences = list(store.sentence_records())
    assert {pid for pid, *_ in sentences} == ids
    assert len({(pid, position) for pid, position, *_ in sentences}) == len(sentences)


def test_a_missing_path_is_an_error_naming_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["ingest", str(tmp_path / "nope.jsonl")])
    err = capsys.readouterr().err
    assert code == 4 and "nope.jsonl" in err and "Traceback" not in err
