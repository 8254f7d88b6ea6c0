"""Hardening matrix, concurrency: many threads, many page clients, and an ingest while questions run.

test_api and test_ui each have a smaller version (16 threads over 4 questions; 8 page clients
compared with each other); here every result is compared with a sequential run of the same calls.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import gradio_client
import pytest

from assistant import ui
from assistant.api import Assistant
from assistant.cite import all_resolve
from assistant.config import Settings
from assistant.errors import InvalidQuestion

QUESTIONS = [
    "What does the neural tangent kernel describe?",
    "Which papers study post-training quantization?",
    "How do hypernetworks stay stable during training?",
    "What are martingale posterior neural processes?",
    "What is symbolic autoencoding?",
    "What temperature should I roast a chicken at?",  # abstains
    "How does SaRA fine-tune diffusion models?",
    "¿Qué describe el núcleo tangente neuronal? 🤖",
]


def call(a: Assistant, job: tuple[str, str]) -> Any:
    kind, question = job
    if kind == "ask":
        return a.ask(question).to_json()
    if kind == "stream":
        return [e.model_dump(mode="json") for e in a.stream(question)]
    if kind == "retrieve":
        return [p.model_dump(mode="json") for p in a.retrieve(question, k=3)]
    try:
        a.ask(question)
    except InvalidQuestion as exc:
        return str(exc)
    raise AssertionError("a bad question was accepted")


@pytest.mark.slow
def test_sixteen_threads_get_exactly_the_sequential_results(small_assistant: Assistant) -> None:
    jobs = [(kind, q) for q in QUESTIONS for kind in ("ask", "stream", "retrieve")] + [("bad", "   "), ("bad", "x" * 5000)]
    sequential = [call(small_assistant, job) for job in jobs]
    with ThreadPoolExecutor(max_workers=16) as pool:
        concurrent = list(pool.map(lambda job: call(small_assistant, job), jobs))
    assert concurrent == sequential
    answers = [r for (kind, _), r in zip(jobs, concurrent) if kind == "ask"]
    assert any(r["abstained"] for r in answers) and sum(not r["abstained"] for r in answers) >= 5


@pytest.mark.slow
def test_eight_page_clients_at_once_match_the_api(small_assistant: Assistant) -> None:
    expected = {q: small_assistant.ask(q).to_json() for q in QUESTIONS}
    app = ui.build_app(small_assistant)
    try:
        url = ui.launch(app, host="127.0.0.1", port=None, block=False)
        clients = [gradio_client.Client(url, verbose=False) for _ in range(8)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            got = list(pool.map(lambda pair: pair[0].predict(pair[1], api_name="/ask"), zip(clients, QUESTIONS)))
        with pytest.raises(Exception) as info:  # a huge question is refused with the limit, not a hang
            clients[0].predict("x" * 100_000, api_name="/ask")
    finally:
        app.close()
    for question, result in zip(QUESTIONS, got):
        want = expected[question]
        for key in ("answer", "abstained", "citations", "settings_hash", "mode", "notice"):
            assert result[key] == want[key], (question, key)
    assert "the limit is 2,000" in str(info.value) and "Traceback" not in str(info.value)


def wait_for(condition: Callable[[], bool], seconds: float = 120) -> None:
    done = threading.Event()
    for _ in range(int(seconds * 20)):
        if condition():
            return
        done.wait(0.05)
    raise AssertionError("timed out waiting")


def test_ingest_while_serving_questions_breaks_none_of_them(small_store: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(small_store, store)
    a = Assistant(Settings(store_dir=store, seeds_dir=small_store.parent))
    before = {q: a.ask(q).to_json() for q in QUESTIONS[:3]}
    new_file = tmp_path / "new.jsonl"
    new_file.write_text(
        json.dumps({
            "title": "Purring kittens as a benchmark for audio transformers",
            "abstract": "We introduce a benchmark of purring kittens for audio transformers. Models that recognise "
            "purring generalise to other low-frequency sounds, and we release the recordings and code.",
        }) + "\n"
    )
    stop = threading.Event()
    results: list[tuple[str, dict[str, Any]]] = []
    errors: list[BaseException] = []

    def keep_asking(question: str) -> Callable[[], None]:
        def loop() -> None:
            while not stop.is_set():
                try:
                    results.append((question, a.ask(question).to_json()))
                except BaseException as exc:  # noqa: BLE001 - every failure is the finding
                    errors.append(exc)
                    return

        return loop

    threads = [threading.Thread(target=keep_asking(q)) for q in QUESTIONS[:3] * 2]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(results) >= 6 or bool(errors))  # questions are running ...
        report = a.ingest([new_file])  # ... when the ingest starts ...
        after = len(results)
        wait_for(lambda: len(results) >= after + 6 or bool(errors))  # ... and keep running after it
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)
    assert not errors, errors
    assert report.new == 1 and not [t for t in threads if t.is_alive()]
    assert len(results) >= len(threads)
    for question, answer in results:
        assert answer["abstained"] or answer["citations"]
        assert all_resolve(answer["answer"], len(answer["citations"]))
        assert answer["settings_hash"] == before[question]["settings_hash"]
    hit = a.ask("Which benchmark uses purring kittens?")
    assert any("Purring kittens" in c["title"] for c in hit.to_json()["citations"])
    assert len(a.papers()) == len(Assistant(Settings(store_dir=small_store)).papers()) + 1


@pytest.mark.slow
def test_an_ingest_in_another_process_breaks_no_question(small_store: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(small_store, store)
    a = Assistant(Settings(store_dir=store))
    new_file = tmp_path / "new.jsonl"
    new_file.write_text(
        json.dumps({"title": "Purring kittens", "abstract": "We introduce a benchmark of purring kittens for audio "
                    "transformers, and show that models recognising purring generalise to other low sounds."}) + "\n"
    )
    expected = {q: a.ask(q).to_json() for q in QUESTIONS[:4]}
    before = a.paper_count()
    env = {**os.environ, "ASSISTANT_STORE_DIR": str(store)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "ingest", str(new_file), "--quiet"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    asked = 0
    with ThreadPoolExecutor(max_workers=4) as pool:
        while proc.poll() is None:
            for question, got in zip(QUESTIONS[:4], pool.map(lambda q: a.ask(q).to_json(), QUESTIONS[:4])):
                assert got == expected[question]  # this process keeps its paper list until it restarts
                asked += 1
            time.sleep(0.3)  # leave the other process some CPU
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and out.startswith("1 new"), err
    assert asked >= 4
    restarted = Assistant(Settings(store_dir=store))
    assert len(restarted.papers()) == restarted.paper_count() == before + 1


def test_a_folder_another_writer_puts_back_meanwhile_is_still_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ingest above failed with "Directory not empty" once: the serving process, re-reading the store after it,
    wrote the same BM25 folder between the ingest's removal of the old one and its rename. The last writer wins."""
    from assistant.store import replacing

    target = tmp_path / "bm25"
    target.mkdir()
    (target / "old").write_text("old")
    rename = Path.replace
    raced: list[Path] = []

    def other_writer_first(self: Path, to: Path) -> Path:
        if not raced:  # another process's copy lands first
            raced.append(to)
            Path(to).mkdir(exist_ok=True)
            (Path(to) / "theirs").write_text("theirs")
        return rename(self, to)

    monkeypatch.setattr(Path, "replace", other_writer_first)
    with replacing(target) as tmp:
        tmp.mkdir()
        (tmp / "ours").write_text("ours")
    assert raced and sorted(p.name for p in target.iterdir()) == ["ours"]
    assert not list(tmp_path.glob("bm25.tmp*"))
