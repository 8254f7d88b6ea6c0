"""The sentence matrix: every paper's sentences scored exactly after one vector query, cached by corpus."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.sentences import SentenceMatrix


def _records(seed: int = 0, papers: int = 5, dim: int = 8) -> list[tuple[str, int, str, list[float]]]:
    rng = np.random.default_rng(seed)
    out = []
    for p in range(papers):
        for position in reversed(range(p + 1)):  # stored order is not abstract order
            vector = rng.normal(size=dim)
            out.append((f"p{p}", position, f"Sentence {position} of paper {p} — ü.", (vector / np.linalg.norm(vector)).tolist()))
    return out


def test_best_is_each_papers_highest_sentence_cosine(tmp_path: Path) -> None:
    records = _records()
    matrix = SentenceMatrix.cached(tmp_path / "m", "fp", records)
    query = np.random.default_rng(9).normal(size=8)
    expected = {}
    for pid, _, _, vector in records:
        expected[pid] = max(expected.get(pid, -9.0), float(np.dot(vector, query)))
    got = matrix.best(["p3", "missing", "p0", "p4"], query)
    assert set(got) == {"p3", "p0", "p4"}  # a paper without sentences is left out
    for pid, score in got.items():
        assert abs(score - expected[pid]) < 2e-3 * np.linalg.norm(query)  # float16 storage


def test_sentences_come_back_in_abstract_order_with_their_vectors(tmp_path: Path) -> None:
    records = _records()
    matrix = SentenceMatrix.cached(tmp_path / "m", "fp", records)
    rows = matrix.of(["p2", "nope"])
    assert list(rows) == ["p2"]
    assert [text for text, _ in rows["p2"]] == [f"Sentence {i} of paper 2 — ü." for i in range(3)]
    stored = {pos: vec for pid, pos, _, vec in records if pid == "p2"}
    for position, (_, vector) in enumerate(rows["p2"]):
        assert np.abs(vector - np.asarray(stored[position])).max() < 1e-3


def test_built_once_per_corpus_and_rebuilt_when_it_changes_or_is_damaged(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    SentenceMatrix.cached(folder, "one", _records(0))

    def never() -> list[tuple[str, int, str, list[float]]]:
        raise AssertionError("read the store although the cache was current")

    assert SentenceMatrix.cached(folder, "one", iter(never, None)).fingerprint == "one"  # records never read
    changed = SentenceMatrix.cached(folder, "two", _records(1, papers=2))
    assert changed.fingerprint == "two" and len(changed.row_of) == 2
    (folder / "rows.npy").write_bytes(b"garbage")
    again = SentenceMatrix.cached(folder, "two", _records(1, papers=2))
    assert len(again.row_of) == 2 and again.best(["p1"], np.ones(8))


def test_an_interrupted_write_keeps_the_previous_matrix(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    SentenceMatrix.cached(folder, "one", _records(0))

    def broken():  # type: ignore[no-untyped-def]
        yield from _records(1)[:2]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        SentenceMatrix.write(folder, "two", broken())
    assert SentenceMatrix(folder).fingerprint == "one"


def test_an_empty_corpus_gives_an_empty_matrix(tmp_path: Path) -> None:
    matrix = SentenceMatrix.cached(tmp_path / "m", "none", [])
    assert matrix.best(["p0"], np.ones(8)) == {} and matrix.of(["p0"]) == {}


def test_reading_maps_none_of_the_files_and_a_short_file_is_refused(tmp_path: Path) -> None:
    """Rows are read with pread, not mapped: a mapping kept every page the kernel brought in around a read
    in the serving process's RSS (212 MB after ten questions at 100k papers)."""
    matrix = SentenceMatrix.cached(tmp_path / "m", "fp", _records(papers=40))
    query = np.random.default_rng(3).normal(size=8)
    assert matrix.best([f"p{i}" for i in range(40)], query) and matrix.of(["p7"])["p7"]
    maps = Path("/proc/self/maps").read_text() if Path("/proc/self/maps").exists() else ""
    assert str(tmp_path / "m") not in maps
    vectors = tmp_path / "m" / "vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[:-64])  # damaged: rows missing at the end
    with pytest.raises(ValueError, match="shorter"):
        SentenceMatrix(tmp_path / "m")
    assert SentenceMatrix.cached(tmp_path / "m", "fp", _records(papers=40)).of(["p39"])  # rebuilt, not trusted
