"""A serving process never answers from a stale store: an ingest by another process is noticed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# A long-lived process holding one Assistant, as `assistant serve` does: one question per stdin line,
# the top hit's title and the paper count per stdout line.
SERVER = """
import json, sys
from assistant import api
from assistant.api import Assistant
from assistant.config import Settings
api.FRESHNESS_S = 0.0
a = Assistant(Settings(store_dir=sys.argv[1]), auto_ingest=False)
for line in sys.stdin:
    top = a.retrieve(line.strip(), k=1)[0]
    dense = a.retrieve(line.strip(), k=1, mode="dense")[0]  # the vector index alone, no keyword match to help
    answer = a.ask(line.strip())
    cited = [c.paper_id for c in answer.citations]
    near = a.similar_to_each(cited, 2)  # the page's "similar papers" under an answer
    print(json.dumps({
        "top": top.title, "dense": dense.title, "count": a.paper_count(), "cited": [c.title for c in answer.citations],
        "similar": {pid: [p.title for p in found] for pid, found in near.items()},
        "record": [a.paper(pid).title for pid in cited],  # the Papers tab opening a cited paper
    }), flush=True)
"""

KITTENS = {
    "title": "Purring kittens",
    "abstract": "We introduce a benchmark of purring kittens for audio transformers, and show that models "
    "recognising purring generalise to other low-frequency sounds recorded in homes.",
}


@pytest.mark.slow
def test_a_serving_process_sees_an_ingest_made_by_another_process(small_store: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(small_store, store)
    env = {**os.environ, "ASSISTANT_STORE_DIR": str(store)}
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(store)], env=env, cwd=tmp_path,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert server.stdin is not None and server.stdout is not None

    def ask(question: str) -> dict[str, object]:
        server.stdin.write(question + "\n")  # type: ignore[union-attr]
        server.stdin.flush()  # type: ignore[union-attr]
        line = server.stdout.readline()  # type: ignore[union-attr]
        assert line, server.stderr.read()  # type: ignore[union-attr]
        return json.loads(line)

    try:
        before = ask("Which benchmark uses purring kittens?")
        assert before["top"] != "Purring kittens"
        extra = tmp_path / "extra.jsonl"
        extra.write_text(json.dumps(KITTENS) + "\n")
        done = subprocess.run(
            [sys.executable, "-m", "assistant.cli", "ingest", str(extra), "--quiet"],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
        )
        assert done.returncode == 0 and done.stdout.startswith("1 new"), done.stderr
        after = ask("Which benchmark uses purring kittens?")
        assert after["dense"] == "Purring kittens"
        assert after["top"] == "Purring kittens" and after["count"] == int(before["count"]) + 1  # type: ignore[call-overload]
        assert after["cited"] and after["cited"][0] == "Purring kittens"  # type: ignore[index]
        # the new paper's neighbours: its vector is one this process's store handle never saw loaded
        assert list(after["similar"].values())[0] and "Purring kittens" not in list(after["similar"].values())[0]  # type: ignore[attr-defined]
        assert after["record"][0] == "Purring kittens"  # type: ignore[index]
    finally:
        server.kill()
        server.wait(timeout=30)
