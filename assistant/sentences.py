"""Every paper's sentences and their vectors in one memory-mapped matrix, read without a vector query.

Retrieval used to search the sentence vectors as a second Chroma collection (30 deep, a second
approximate search per question, and the 0.95 M-vector index most of a serving process's memory at
100k papers). The sentence signal only needs the sentences of the papers already found by the chunk
search and BM25: here they are scored exactly, `vectors[rows] @ query`, after one vector query. The
Chroma `sentence_sets` collection (one record per paper: texts and float16 vectors) stays the store of
record (in server mode too); this folder is a cache of it beside the keyword index, keyed by the corpus
fingerprint, rebuilt when the corpus changes.

Layout of the folder (written whole to a temporary name, then renamed):
  meta.json    {"fingerprint", "dim", "papers": [paper id, ...]}
  vectors.npy  float16 [sentences, dim]: 2 bytes a number, cosine error < 1e-3 (unit vectors)
  rows.npy     int64 [papers + 1]: paper i's sentences are rows[i]:rows[i + 1]
  offsets.npy  int64 [sentences + 1] and texts.bin (UTF-8): sentence j is texts[offsets[j]:offsets[j + 1]]
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .store import replacing

Sentences = dict[str, list[tuple[str, np.ndarray]]]  # paper id -> (text, unit vector) in abstract order
Record = tuple[str, int, str, Sequence[float]]  # paper id, position, text, vector


class SentenceMatrix:
    """Sentence texts and vectors by paper; searching keeps no state, so concurrent questions need no lock."""

    def __init__(self, folder: Path) -> None:
        meta = json.loads((folder / "meta.json").read_text())
        self.fingerprint = str(meta["fingerprint"])
        self.row_of = {str(pid): i for i, pid in enumerate(meta["papers"])}
        self.vectors = np.load(folder / "vectors.npy", mmap_mode="r")
        self.rows = np.load(folder / "rows.npy")
        self.offsets = np.load(folder / "offsets.npy", mmap_mode="r")
        self.texts = np.memmap(folder / "texts.bin", dtype=np.uint8, mode="r") if self.offsets[-1] else np.zeros(0, np.uint8)
        if len(self.rows) != len(self.row_of) + 1 or self.rows[-1] != len(self.vectors) or len(self.offsets) != len(self.vectors) + 1:
            raise ValueError("inconsistent sentence matrix")

    @classmethod
    def cached(cls, folder: Path, fingerprint: str, records: Iterable[Record]) -> SentenceMatrix:
        """The matrix saved in `folder` for this corpus, or one built from `records` (read only then)."""
        try:
            found = cls(folder)
            if found.fingerprint == fingerprint:
                return found
        except (OSError, ValueError, KeyError, TypeError):
            pass  # missing, damaged or from another version: rebuild
        cls.write(folder, fingerprint, records)
        return cls(folder)

    @staticmethod
    def write(folder: Path, fingerprint: str, records: Iterable[Record]) -> None:
        by_paper: dict[str, list[tuple[int, str, Sequence[float]]]] = {}
        for pid, position, text, vector in records:
            by_paper.setdefault(pid, []).append((position, text, vector))
        papers = sorted(by_paper)
        ordered = [row for pid in papers for row in sorted(by_paper[pid], key=lambda r: r[0])]
        dim = len(ordered[0][2]) if ordered else 0
        vectors = np.asarray([v for _, _, v in ordered], dtype=np.float16).reshape(len(ordered), dim)
        encoded = [text.encode() for _, text, _ in ordered]
        rows = np.cumsum([0] + [len(by_paper[pid]) for pid in papers], dtype=np.int64)
        offsets = np.cumsum([0] + [len(b) for b in encoded], dtype=np.int64)
        folder.parent.mkdir(parents=True, exist_ok=True)
        with replacing(folder) as tmp:
            tmp.mkdir(parents=True, exist_ok=True)
            np.save(tmp / "vectors.npy", vectors)
            np.save(tmp / "rows.npy", rows)
            np.save(tmp / "offsets.npy", offsets)
            (tmp / "texts.bin").write_bytes(b"".join(encoded))
            (tmp / "meta.json").write_text(json.dumps({"fingerprint": fingerprint, "dim": dim, "papers": papers}))

    def _span(self, pid: str) -> tuple[int, int]:
        i = self.row_of.get(pid)
        return (0, 0) if i is None else (int(self.rows[i]), int(self.rows[i + 1]))

    def best(self, paper_ids: Sequence[str], query: Sequence[float]) -> dict[str, float]:
        """Each paper's highest sentence cosine with `query` (papers without sentences are left out)."""
        spans = [(pid, *self._span(pid)) for pid in paper_ids]
        spans = [(pid, a, b) for pid, a, b in spans if b > a]
        if not spans:
            return {}
        index = np.concatenate([np.arange(a, b) for _, a, b in spans])
        scores = np.asarray(self.vectors[index], dtype=np.float32) @ np.asarray(query, dtype=np.float32)
        starts = np.cumsum([0] + [b - a for _, a, b in spans[:-1]])
        return {pid: float(best) for (pid, _, _), best in zip(spans, np.maximum.reduceat(scores, starts))}

    def of(self, paper_ids: Sequence[str]) -> Sentences:
        """Each paper's sentences with their vectors (float32), in abstract order."""
        out: Sentences = {}
        for pid in paper_ids:
            a, b = self._span(pid)
            if b <= a:
                continue
            vectors = np.asarray(self.vectors[a:b], dtype=np.float32)
            ends = self.offsets[a : b + 1]
            texts = [bytes(self.texts[ends[j] : ends[j + 1]]).decode() for j in range(b - a)]
            out[pid] = list(zip(texts, vectors))
        return out
