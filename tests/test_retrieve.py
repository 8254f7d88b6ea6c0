"""Retrieval modes, de-duplication to papers, and recall on the bundled questions."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import load_questions

from assistant.api import Assistant
from assistant.corpus import normalise


def _paper_for_quote(assistant: Assistant, quote: str) -> str:
    hits = [p.id for p in assistant.papers() if normalise(quote) in normalise(p.abstract)]
    assert len(hits) == 1, quote
    return hits[0]


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_each_mode_returns_distinct_papers(assistant: Assistant, mode: str) -> None:
    passages = assistant.retrieve("neural tangent kernel smallest eigenvalue", k=5, mode=mode)
    assert len(passages) == 5
    assert len({p.paper_id for p in passages}) == 5
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    assert any("NTK" in p.text or "Tangent" in p.title for p in passages[:2])


def test_k_is_respected(assistant: Assistant) -> None:
    assert len(assistant.retrieve("transformers", k=2)) == 2
    assert len(assistant.retrieve("transformers", k=12)) == 12


def test_hybrid_finds_the_expected_paper_in_top5_for_90_percent(assistant: Assistant) -> None:
    cases = [c for c in load_questions() if c["answerable"]]
    assert len(cases) >= 25
    found = 0
    misses = []
    for case in cases:
        expected = {_paper_for_quote(assistant, q) for q in case["expected_quotes"]}
        top = {p.paper_id for p in assistant.retrieve(str(case["question"]), k=5, mode="hybrid")}
        if expected & top:
            found += 1
        else:
            misses.append(case["id"])
    assert found / len(cases) >= 0.90, misses


def test_keyword_index_is_saved_without_the_texts_and_reloaded_without_the_corpus(tmp_path: Path) -> None:
    from assistant.retrieve import KeywordIndex
    from assistant.types import Paper

    papers = [
        Paper(id="a", title="Diffusion", abstract="Diffusion models denoise images step by step."),
        Paper(id="b", title="Kernels", abstract="The neural tangent kernel describes training of wide networks."),
        Paper(id="c", title="Sparse experts", abstract="Mixtures of experts route each token to a few experts."),
    ]
    path = tmp_path / "bm25"
    built = KeywordIndex("v1", lambda: papers, path=path)
    saved = (path / "corpus.jsonl").read_text()
    assert '"b"' in saved and "tangent" not in saved  # ids only: the texts live in the store

    def not_read() -> list[Paper]:
        raise AssertionError("the corpus was read although the saved index is current")

    loaded = KeywordIndex("v1", not_read, path=path)
    assert loaded.search("neural tangent kernel", 3) == built.search("neural tangent kernel", 3)
    assert [pid for pid, _ in loaded.search("experts routing tokens", 3)] == ["c"]
    rebuilt = KeywordIndex("v2", lambda: papers[:2], path=path)  # another corpus: built afresh
    assert rebuilt.size == 2 and rebuilt.search("experts", 3) == []
