"""`assistant eval` with an LLM judge never loses a run: a judge that times out, answers in one line or
echoes its prompt marks those cases; a judge that says yes to everything is caught by a control case;
an interrupted run still writes its report."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_openai import FakeOpenAI, Reply  # noqa: E402

from assistant.api import Assistant  # noqa: E402
from assistant.cli import main  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.evaluate import UnreadableVerdict, score_parser, verdict  # noqa: E402

CASES = [  # question, the tag the scripted model puts in its answer (so the judge can tell), its paper
    ("What does the neural tangent kernel describe during training?", "SLOW", "Neural Tangent Kernel"),
    ("How does PowerNorm differ from batch normalization in Transformers?", "LINE", "PowerNorm"),
    ("What is symbolic autoencoding?", "ECHO", "symbolic autoencoding"),
    ("Which scores find important training examples early in training?", "PLAIN", "Data Diet"),
]


def _text(body: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content", "")) for m in body.get("messages", []))


def respond(body: dict[str, Any]) -> Reply:
    """The answer model and a judge that misbehaves by case, and says yes to anything else."""
    text = _text(body)
    if "<source" in text:  # an answer: tag it by its question
        tag = next(t for q, t, _ in CASES if q in text)
        return Reply(text=f"Tag {tag}: the abstract answers this [1].")
    if "supported by the context" in text:  # the faithfulness judge
        if "Tag SLOW" in text:
            return Reply(text="YES", delay=4.0)  # beyond ASSISTANT_LLM_TIMEOUT
        if "Tag ECHO" in text:
            return Reply(text=text)  # echoes its prompt, which says "YES or NO"
        return Reply(text="YES")  # also to the control case: a yes-sayer
    if "Reference Answer" in text:  # the correctness judge
        if "Tag LINE" in text:
            return Reply(text="Mostly right.")  # one line, no score
        if "Tag ECHO" in text:
            return Reply(text=text)
        return Reply(text="4.0\nClose to the reference.")
    return Reply(text="OK")


@pytest.fixture
def questions(tmp_path: Path, seeded_store: Path) -> Path:
    papers = Assistant(Settings(store_dir=seeded_store)).papers()
    quote = {name: next(p.abstract.split(".")[0] for p in papers if name.lower() in (p.title + p.abstract).lower())
             for _, _, name in CASES}
    path = tmp_path / "q.jsonl"
    path.write_text("".join(
        json.dumps({"id": f"c{i}", "question": q, "kind": "fact", "answerable": True,
                    "expected_quotes": [quote[name]], "reference_answer": "A short reference answer."}) + "\n"
        for i, (q, _, name) in enumerate(CASES)
    ))
    return path


@pytest.fixture
def judged_env(monkeypatch: pytest.MonkeyPatch, seeded_store: Path) -> Iterator[FakeOpenAI]:
    with FakeOpenAI(responder=respond) as fake:
        for key, value in {
            "ASSISTANT_STORE_DIR": str(seeded_store), "ASSISTANT_LLM": "openai-compatible",
            "ASSISTANT_LLM_BASE_URL": fake.base_url, "ASSISTANT_LLM_MODEL": "judge", "ASSISTANT_LLM_TIMEOUT": "2",
            "ASSISTANT_LLM_RETRIES": "0",
        }.items():
            monkeypatch.setenv(key, value)
        yield fake


def test_a_misbehaving_judge_marks_its_cases_and_the_control_flags_a_yes_sayer(
    judged_env: FakeOpenAI, questions: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    code = main(["eval", str(questions), "--modes", "hybrid", "--out", str(out), "--quiet"])
    _, err = capsys.readouterr()
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    rows = {r["id"]: r for r in map(json.loads, (out / "per_question.jsonl").read_text().splitlines())}
    assert report["cases"] == 4 and report["llm_judged"] and report["judge_errors"] == 3
    assert report["judge_control"].startswith("FAILED") and "judge called a known-unsupported answer" in err
    assert rows["c0"]["answer"]["judge_error"] == "faithfulness: APITimeoutError"
    assert rows["c0"]["answer"]["correctness"] == 4.0
    assert rows["c1"]["answer"]["judge_error"].startswith("correctness: no 1-5 score")
    assert rows["c1"]["answer"]["faithfulness"] == 1.0
    assert rows["c2"]["answer"]["judge_error"].startswith("faithfulness: not a YES/NO verdict")
    assert rows["c2"]["answer"]["faithfulness"] is None and rows["c2"]["answer"]["correctness"] is None
    assert rows["c3"]["answer"]["judge_error"] is None and rows["c3"]["answer"]["faithfulness"] == 1.0
    assert "control case FAILED" in (out / "report.md").read_text()


def test_an_interrupted_run_writes_a_report_of_the_cases_that_ran(
    seeded_store: Path, questions: Path, tmp_path: Path
) -> None:
    def stop_after_two(done: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    assistant = Assistant(Settings(store_dir=seeded_store))
    result = assistant.evaluate(questions, modes="hybrid", out=tmp_path / "r", progress=stop_after_two)
    assert result.report.interrupted and result.report.cases == 2
    saved = json.loads((tmp_path / "r" / "report.json").read_text())
    assert saved["interrupted"] and saved["cases"] == 2
    assert len((tmp_path / "r" / "per_question.jsonl").read_text().splitlines()) == 2
    assert "Interrupted" in (tmp_path / "r" / "report.md").read_text()


def test_verdicts_are_read_strictly() -> None:
    assert verdict("YES") and verdict("**Yes**, supported.") and not verdict("NO. The context says otherwise.")
    with pytest.raises(UnreadableVerdict):
        verdict("Please tell if a given piece of information is supported... answer YES or NO")
    assert score_parser("4.5\nGood") == (4.5, "Good") and score_parser("3") == (3.0, "")
    for bad in ("Mostly right.", "9\nout of ten", ""):
        with pytest.raises(UnreadableVerdict):
            score_parser(bad)


def test_answers_written_offline_because_the_llm_failed_are_counted_and_said(
    judged_env: FakeOpenAI, questions: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An LLM that refuses every request: the offline answers are not passed off as the LLM's."""
    judged_env.responder = lambda body: Reply(status=401, text="Incorrect API key provided")
    out = tmp_path / "report"
    code = main(["eval", str(questions), "--modes", "hybrid", "--out", str(out), "--quiet"])
    _, err = capsys.readouterr()
    report = json.loads((out / "report.json").read_text())
    rows = [json.loads(line)["answer"] for line in (out / "per_question.jsonl").read_text().splitlines()]
    assert code == 0 and report["fallbacks"] == 4 and report["answer_mode"] == "openai-compatible"
    assert report["answer_model"] == f"judge at 127.0.0.1:{judged_env.port}"
    assert {r["mode"] for r in rows} == {"extractive"} and all(r["fallback"] and "HTTP 401" in r["notice"] for r in rows)
    said = "4 of 4 answers were written offline by the extractive composer, because the LLM (judge at 127.0.0.1:"
    assert said in (out / "report.md").read_text() and f"warning: {said}" in err


def test_an_llm_down_from_the_start_without_fallback_stops_the_run_with_exit_3(
    judged_env: FakeOpenAI, questions: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    judged_env.responder = lambda body: Reply(status=401, text="Incorrect API key provided")
    monkeypatch.setenv("ASSISTANT_LLM_FALLBACK", "none")
    code = main(["eval", str(questions), "--modes", "hybrid", "--out", str(tmp_path / "report"), "--quiet"])
    _, err = capsys.readouterr()
    assert code == 3 and err.startswith("error: ") and "HTTP 401" in err and "Traceback" not in err
    assert not (tmp_path / "report" / "report.json").exists()  # no report of 4 failed cases
