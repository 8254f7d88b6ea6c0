"""Every paper's sentences and their vectors in one float16 matrix on disk, read a paper at a time.

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

import itertools
import json
import os
import shutil
import weakref
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .store import replacing

Sentences = dict[str, list[tuple[str, np.ndarray]]]  # paper id -> (text, unit vector) in abstract order
Record = tuple[str, int, str, Sequence[float]]  # paper id, position, text, vector


class _Rows:
    """Rows of a C-ordered .npy file (or raw bytes as `dtype`), read with `os.pread` when asked for.

    Not memory-mapped: a mapping of this folder's files kept every page the kernel brought in around a
    read in the serving process's RSS. Ten questions at 100k papers read ~4 MB of sentence vectors and
    left 212 MB of `vectors.npy` mapped (serve RSS 1,084 MB, over the 1 GB target; MADV_RANDOM did not
    change it: the page cache maps whole large folios). A read of a paper's few rows is one pread."""

    def __init__(self, path: Path, dtype: np.dtype | None = None, width: int = 1) -> None:
        self.fd = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self.fd)
        if dtype is None:  # a .npy file: its header says what follows
            with open(path, "rb") as f:
                version = np.lib.format.read_magic(f)
                header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, fortran, dtype = header(f)
                if fortran:
                    raise ValueError(f"{path.name} is Fortran-ordered")
                self.start = f.tell()
            width = int(np.prod(shape[1:])) if len(shape) > 1 else 1
            self.length = int(shape[0]) if shape else 0
        else:
            self.start = 0
            self.length = (path.stat().st_size // np.dtype(dtype).itemsize) // width
        self.dtype, self.width = np.dtype(dtype), width
        self.row_bytes = self.dtype.itemsize * width
        if os.fstat(self.fd).st_size < self.start + self.length * self.row_bytes:
            raise ValueError(f"{path.name} is shorter than its header says")

    def __len__(self) -> int:
        return self.length

    def read(self, a: int, b: int) -> np.ndarray:
        """Rows a..b-1 (a copy)."""
        count = max(0, b - a)
        raw = os.pread(self.fd, count * self.row_bytes, self.start + a * self.row_bytes) if count else b""
        if len(raw) != count * self.row_bytes:
            raise ValueError("sentence matrix file is shorter than its index says")
        out = np.frombuffer(raw, dtype=self.dtype)
        return out.reshape(count, self.width) if self.width > 1 else out


class SentenceMatrix:
    """Sentence texts and vectors by paper; searching keeps no state, so concurrent questions need no lock."""

    def __init__(self, folder: Path) -> None:
        meta = json.loads((folder / "meta.json").read_text())
        self.fingerprint = str(meta["fingerprint"])
        self.row_of = {str(pid): i for i, pid in enumerate(meta["papers"])}
        self.vectors = _Rows(folder / "vectors.npy")
        self.rows = np.load(folder / "rows.npy")
        self.offsets = _Rows(folder / "offsets.npy")
        self.texts = _Rows(folder / "texts.bin", dtype=np.dtype(np.uint8))
        if len(self.rows) != len(self.row_of) + 1 or self.rows[-1] != len(self.vectors) or len(self.offsets) != len(self.vectors) + 1:
            raise ValueError("inconsistent sentence matrix")
        if len(self.texts) < int(self.offsets.read(len(self.offsets) - 1, len(self.offsets))[0]):
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
        """Written as the records come, each paper's sentences together (as the store yields them), put in
        abstract order: at 100k papers, collecting all 0.95 M vectors first took 1.3 GB more than this."""
        papers: list[str] = []
        rows, offsets = [0], [0]
        dim = 0
        folder.parent.mkdir(parents=True, exist_ok=True)
        with replacing(folder) as tmp:
            tmp.mkdir(parents=True, exist_ok=True)
            with open(tmp / "vectors.f16", "wb") as raw, open(tmp / "texts.bin", "wb") as texts:
                for pid, group in itertools.groupby(records, key=lambda r: r[0]):
                    ordered = sorted(group, key=lambda r: r[1])
                    vectors = np.asarray([r[3] for r in ordered], dtype=np.float16)
                    dim = dim or vectors.shape[1]
                    raw.write(vectors.tobytes())
                    for r in ordered:
                        encoded = r[2].encode()
                        texts.write(encoded)
                        offsets.append(offsets[-1] + len(encoded))
                    papers.append(pid)
                    rows.append(rows[-1] + len(ordered))
            if len(set(papers)) != len(papers):
                raise ValueError("a paper's sentences came in two runs")
            _npy_from_raw(tmp / "vectors.f16", tmp / "vectors.npy", (rows[-1], dim))
            np.save(tmp / "rows.npy", np.asarray(rows, dtype=np.int64))
            np.save(tmp / "offsets.npy", np.asarray(offsets, dtype=np.int64))
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
        vectors = np.concatenate([self.vectors.read(a, b) for _, a, b in spans])
        scores = vectors.astype(np.float32) @ np.asarray(query, dtype=np.float32)
        starts = np.cumsum([0] + [b - a for _, a, b in spans[:-1]])
        return {pid: float(best) for (pid, _, _), best in zip(spans, np.maximum.reduceat(scores, starts))}

    def of(self, paper_ids: Sequence[str]) -> Sentences:
        """Each paper's sentences with their vectors (float32), in abstract order."""
        out: Sentences = {}
        for pid, texts in self.texts_of(paper_ids).items():
            a, b = self._span(pid)
            out[pid] = list(zip(texts, self.vectors.read(a, b).astype(np.float32)))
        return out

    def texts_of(self, paper_ids: Sequence[str]) -> dict[str, list[str]]:
        """Each paper's sentences, in abstract order (papers without sentences are left out)."""
        out: dict[str, list[str]] = {}
        for pid in paper_ids:
            a, b = self._span(pid)
            if b <= a:
                continue
            ends = self.offsets.read(a, b + 1)
            blob = self.texts.read(int(ends[0]), int(ends[-1])).tobytes()
            out[pid] = [blob[ends[j] - ends[0] : ends[j + 1] - ends[0]].decode() for j in range(b - a)]
        return out


def _npy_from_raw(raw: Path, target: Path, shape: tuple[int, int]) -> None:
    """A .npy file of float16 `shape` from the raw bytes at `raw` (streamed, then removed)."""
    with open(target, "wb") as out, open(raw, "rb") as src:
        np.lib.format.write_array_header_1_0(out, {"descr": np.dtype(np.float16).str, "fortran_order": False, "shape": shape})
        shutil.copyfileobj(src, out, 1 << 20)
    raw.unlink()
