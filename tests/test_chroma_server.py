"""Chroma server mode: a real `chroma run` on 127.0.0.1, two app instances sharing it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import api
from assistant.api import Assistant
from assistant.config import Settings
from assistant.corpus import load_corpus, normalise
from assistant.store import StoreLayout

from conftest import SEEDS, free_port

pytestmark = pytest.mark.slow  # a real `chroma run` server
QUOTE = "connects two generative models via a discrete bottleneck layer"
QUESTION = "In the symbolic autoencoding framework, how are the two generative models connected?"
KITTENS = (
    "We introduce a benchmark of purring kittens for audio transformers, and show that models recognising "
    "purring generalise to other low-frequency sounds recorded in homes."
)


def chroma_cli() -> str:
    """The `chroma` command installed with chromadb, next to this interpreter or on PATH."""
    beside = Path(sys.executable).with_name("chroma")
    found = str(beside) if beside.exists() else shutil.which("chroma")
    assert found, "the chroma command (installed with chromadb) is missing"
    return found



@pytest.fixture()
def chroma_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`chroma run --path DIR --port N` on 127.0.0.1, up once its heartbeat answers; stopped afterwards."""
    data, port = tmp_path / "chroma-server", free_port()
    log = (tmp_path / "chroma.log").open("wb")
    proc = subprocess.Popen(
        [chroma_cli(), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "chroma.log").read_text()[-2000:]
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "chroma run did not answer its heartbeat within 60 s"
            time.sleep(0.2)
        yield url, data
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def few_seed_papers(folder: Path) -> tuple[Path, str]:
    """Six seed abstracts as a JSONL file (enough to show a real ingest), and the id of the one asked about."""
    papers = load_corpus([SEEDS]).papers
    target = next(p for p in papers if normalise(QUOTE) in normalise(p.abstract))
    chosen = [target] + [p for p in papers if p.id != target.id][:5]
    path = folder / "few.jsonl"
    path.write_text("".join(json.dumps({"title": p.title, "abstract": p.abstract, "authors": p.authors}) + "\n" for p in chosen))
    return path, target.id


def test_two_instances_share_one_chroma_server(
    chroma_server: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, data = chroma_server
    monkeypatch.setenv("ASSISTANT_CHROMA_URL", url)
    corpus, target = few_seed_papers(tmp_path)

    writer = Assistant(Settings(store_dir=tmp_path / "instance-a"), auto_ingest=False)
    report = writer.ingest([corpus])
    assert (report.new, report.unchanged) == (6, 0)
    assert not (tmp_path / "instance-a" / "chroma.sqlite3").exists()  # the vectors went to the server
    assert (data / "chroma.sqlite3").exists()

    answer = writer.ask(QUESTION)
    assert not answer.abstained
    assert target in [c.paper_id for c in answer.citations]
    assert "[1]" in answer.text
    layout = StoreLayout.at(tmp_path / "instance-a")
    assert layout.bm25.is_dir() and layout.term_df.exists()  # the keyword index and term weights: per instance

    # A second app instance (its own local folder) sees the same papers and answers the same way.
    reader = Assistant(Settings(store_dir=tmp_path / "instance-b"), auto_ingest=False)
    assert {p.id for p in reader.papers()} == {p.id for p in writer.papers()}
    assert reader.retrieve(QUESTION, k=1)[0].paper_id == target
    assert reader.ingest([corpus]).unchanged == 6  # nothing re-embedded: the server already has them

    # Another instance ingests a paper: this one notices (the saved corpus fingerprint, looked at most
    # every FRESHNESS_S) and reloads its keyword index, term weights, sentences and catalog.
    extra = tmp_path / "extra.jsonl"
    extra.write_text(json.dumps({"title": "Purring kittens", "abstract": KITTENS}) + "\n")
    assert len(reader.papers()) == 6  # the whole list read here before the other instance adds one
    assert writer.ingest([extra]).new == 1
    monkeypatch.setattr(api, "FRESHNESS_S", 0.0)
    for mode in ("dense", "bm25", "hybrid"):
        assert reader.retrieve("purring kittens", k=1, mode=mode)[0].title == "Purring kittens", mode
    assert reader.paper_count() == 7
