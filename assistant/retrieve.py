"""Question -> ranked papers: dense chunk vectors (one Chroma query), the best sentence of each paper
found, and BM25, fused by a weighted sum of each list's z-scored scores (or reciprocal rank).

Every retriever here is a LlamaIndex retriever; `PaperRetriever` returns one node per paper whose
text is that paper's best-matching chunk and whose metadata carries each signal's raw score.
"""

from __future__ import annotations

import json
import math
import re
import sys
import threading
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence, Set
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from .catalog import Catalog
from .config import RetrievalMode, Settings
from .filters import Filters
from .store import replacing
from .text import stem
from .types import Paper

if TYPE_CHECKING:
    import bm25s
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from .sentences import SentenceMatrix
    from .store import Store


_IDS = "papers.json"  # beside bm25s's own files: the corpus fingerprint and the paper id of each row
# bm25s imports these when installed, yet its numpy backend (the default, and what every index here is
# built and saved with) never calls them: numba (with llvmlite and scipy) and scipy.sparse took 0.28-0.32 s
# of a 2.3 s cold `assistant ask`.
_UNUSED_BY_BM25S = ("numba", "scipy.sparse")


class _Without:
    """An import finder that refuses `names` to one thread, so a library's optional imports see them missing."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = set(names)
        self.thread = threading.get_ident()

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name in self.names and threading.get_ident() == self.thread:
            raise ModuleNotFoundError(f"{name} is not imported for bm25s", name=name)


@lru_cache(maxsize=1)
def _bm25s() -> ModuleType:
    """bm25s, imported without what its numpy backend never uses (unless another module loaded them)."""
    finder = _Without([name for name in _UNUSED_BY_BM25S if name not in sys.modules])
    sys.meta_path.insert(0, finder)
    try:
        import bm25s
    finally:
        sys.meta_path.remove(finder)
    return bm25s


@lru_cache(maxsize=1)
def _keyword_pool() -> ThreadPoolExecutor:
    """BM25 runs beside the query embedding: on one core each, both finish in the time of the longer."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="bm25")


class KeywordIndex:
    """BM25 (bm25s) over whole papers (title + abstract), persisted at `path` and rebuilt when stale.

    `fingerprint` names the corpus (see store.corpus_fingerprint); `papers` is only called to rebuild.
    Searching keeps no state, so concurrent questions need no lock."""

    def __init__(self, fingerprint: str, papers: Callable[[], Iterable[Paper]], path: Path | None = None) -> None:
        self.fingerprint = fingerprint
        loaded = self._load(path) if path else None
        if loaded is None:
            loaded = self._build(papers())
            if path:
                self._save(path, *loaded)
        self.bm25, self.ids = loaded
        self.size = len(self.ids)

    @staticmethod
    def _build(papers: Iterable[Paper]) -> tuple[bm25s.BM25, list[str]]:
        """Tokenized one paper at a time into compact int arrays: `bm25s.tokenize` on the whole corpus held
        every token as a Python int (1.4 GB at 100k papers, benchmarks/RESULTS.md)."""
        bm25s = _bm25s()
        ids: list[str] = []

        def texts() -> Iterator[str]:
            for p in papers:
                ids.append(p.id)
                yield f"{p.title}\n{p.abstract}" if p.has_title else p.abstract

        tokenizer = bm25s.tokenization.Tokenizer(stopwords="en", stemmer=stem)
        stream = tokenizer.tokenize(texts(), update_vocab=True, return_as="stream", show_progress=False)
        corpus = [array("i", doc) for doc in stream]
        bm25 = bm25s.BM25()
        bm25._np_csc = _lean_csc  # the builder slot bm25s itself swaps for its numba version
        bm25.index((corpus, tokenizer.get_vocab_dict()), show_progress=False)
        return bm25, ids

    def _load(self, path: Path) -> tuple[bm25s.BM25, list[str]] | None:
        bm25s = _bm25s()
        try:
            # An index saved by another version (e.g. llama-index's BM25Retriever) has no _IDS file: stale.
            saved = json.loads((path / _IDS).read_text())
            if saved["fingerprint"] != self.fingerprint:
                return None
            ids = [str(pid) for pid in saved["ids"]]
            # Memory-mapped: a start reads the score matrix pages as queries touch them, not all up front.
            bm25 = bm25s.BM25.load(path, mmap=True, show_progress=False)
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing, damaged or stale: rebuild
        return (bm25, ids) if bm25.scores.get("num_docs") == len(ids) else None

    def _save(self, path: Path, bm25: bm25s.BM25, ids: list[str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path) as tmp:
            bm25.save(tmp, show_progress=False)
            # Ids only, no texts: those live in the store.
            (tmp / _IDS).write_text(json.dumps({"fingerprint": self.fingerprint, "ids": ids}))

    def search(self, query: str, k: int, allowed: Set[str] | None = None) -> list[tuple[str, float]]:
        """(paper id, BM25 score) best first; empty when no query term is in the corpus. `allowed`: only
        these papers are scored (bm25s' weight mask), so k of them come back when there are k."""
        mask = None if allowed is None else np.fromiter((pid in allowed for pid in self.ids), dtype=np.float32)
        query = " ".join([query, *_greek_spelled(query)])
        found, scores = self.bm25.retrieve(_tokenize([query]), k=min(k, self.size), show_progress=False, weight_mask=mask)
        return [(self.ids[int(i)], float(score)) for i, score in zip(found[0], scores[0]) if score > 0]

    def containing(self, word: str) -> set[str] | None:
        """The papers whose title or abstract holds a word starting with `word`, stemmed (so "quanti", typed
        on the way to "quantization", already finds it; every part of a hyphenated word), or None when the
        index keeps no token for it (a stop word, punctuation)."""
        tokens = [t for t in _tokenize([word]).vocab if t]
        if not tokens:
            return None
        vocab = self.bm25.vocab_dict
        found: set[str] | None = None
        for token in tokens:
            # A scan of the vocabulary: 10-20 ms at 100k papers, against a whole-record read of tens of seconds.
            # Stems are shorter than the words typed ("trainin" is on its way to "training", stored as "train").
            shortest = max(3, len(token) - 3)
            prefixed = [
                v for v in vocab
                if isinstance(v, str) and (v.startswith(token) or (len(v) >= shortest and token.startswith(v)))
            ]
            rows = np.flatnonzero(self.bm25.get_scores(prefixed) > 0) if prefixed else np.empty(0, dtype=np.int64)
            ids = {self.ids[int(i)] for i in rows}
            found = ids if found is None else found & ids
        return found


def _lean_csc(
    data: np.ndarray, rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """bm25s's numpy CSC builder, same output, less memory: bm25s scores documents in order, so `rows`
    ascend and a stable sort by column alone gives its (column, row) order without the int64 copies and
    packed keys it sorts (peak of the whole build at 100k papers, 9.8 M entries: 430 -> 354 MB traced)."""
    indptr = np.zeros(shape[1] + 1, dtype=np.int64)
    np.cumsum(np.bincount(cols, minlength=shape[1]), out=indptr[1:])
    order = np.argsort(cols, kind="stable")
    return data[order], rows[order], indptr


def _greek_spelled(text: str) -> list[str]:
    """The words of `text` holding a Greek letter, each letter spelled as the abstracts' LaTeX names it: "ΣAE", as
    answers print it, is "$\\Sigma$AE" in the abstract, indexed as "sigma" and "ae" (the question's "σae" matched
    nothing, and "What is ΣAE?" found the paper by its embedding alone)."""
    out: list[str] = []
    for word in text.split():
        spelled = "".join(
            f" {letter[1].lower()} " if (letter := _GREEK_LETTER.match(unicodedata.name(ch, ""))) else ch for ch in word
        )
        if spelled != word:
            out.append(spelled)
    return out


_GREEK_LETTER = re.compile(r"GREEK (?:CAPITAL |SMALL )?LETTER (?:FINAL )?([A-Z]+)$")


def _tokenize(texts: list[str]) -> bm25s.tokenization.Tokenized:
    """English stop words dropped, Snowball-stemmed: what llama-index's BM25Retriever did for this index."""
    return _bm25s().tokenize(texts, stopwords="en", stemmer=_stem_words, show_progress=False)


def _stem_words(words: list[str]) -> list[str]:
    """text.stem (British spellings read as American, one Snowball stemmer per thread) on a list, as
    bm25s.tokenize calls its stemmer; the index's Tokenizer calls text.stem a word at a time."""
    return [stem(w) for w in words]


@dataclass
class Signals:
    """Why a paper was retrieved: its rank and raw score under each retriever."""

    ranks: dict[str, int] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    best_chunk: str = ""  # id of the paper's nearest chunk


class PaperRetriever(BaseRetriever):
    """Dense, BM25 or hybrid retrieval, de-duplicated to papers."""

    def __init__(
        self,
        store: Store,
        embedder: BaseEmbedding,
        keyword: KeywordIndex,
        sentences: SentenceMatrix,
        papers: Catalog,
        settings: Settings,
        mode: RetrievalMode | None = None,
        k: int | None = None,
        filters: Filters | None = None,
    ) -> None:
        super().__init__()
        self.filters = filters or Filters()
        self.settings = settings
        self.mode: RetrievalMode = mode or settings.retrieval_mode
        self.k = k or settings.top_k
        self.embedder = embedder
        self.keyword = keyword
        self.sentences = sentences
        self.papers = papers
        self.store = store
        self._embed_lock = threading.Lock()

    def embed_query(self, question: str) -> list[float]:
        with self._embed_lock:  # the torch model is shared; one forward pass at a time is fastest on 2 cores
            return self.embedder.get_query_embedding(question)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        signals = self.signals(query_bundle)
        fused = self.fuse(signals)
        top = fused[: self.k]
        known = self.papers.many([pid for pid, _ in top])  # one store read for the k papers
        chunks = self.store.chunk_texts([signals[pid].best_chunk for pid, _ in top if signals[pid].best_chunk])
        out: list[NodeWithScore] = []
        for pid, score in top:
            paper = known.get(pid)
            if paper is None:
                continue
            s = signals[pid]
            node = TextNode(
                id_=pid,
                text=chunks.get(s.best_chunk) or paper.abstract,
                metadata={"paper_id": pid, "title": paper.title, **{f"score_{k}": v for k, v in s.scores.items()}},
            )
            out.append(NodeWithScore(node=node, score=score))
        return out

    def allowed(self) -> frozenset[str] | None:
        """The ids of the papers the filters admit (None: no filters)."""
        if not self.filters:
            return None
        return self.papers.matching(self.filters)

    def signals(self, query_bundle: QueryBundle) -> dict[str, Signals]:
        """Each candidate paper's ranks and scores under every retriever the mode uses."""
        signals: dict[str, Signals] = {}
        # Each list is read at least k deep (twice k for chunks: a paper may have several), so `-k 50` gets 50.
        depth = max(self.settings.candidate_depth, 2 * self.k)
        allowed = self.allowed()
        if allowed is not None and not allowed:
            return signals  # nothing matches the filters
        keyword = None
        if self.mode in ("bm25", "hybrid"):
            keyword = _keyword_pool().submit(self.keyword.search, query_bundle.query_str, depth, allowed)
        if query_bundle.embedding is None:  # in every mode: the answer composer scores sentences with it
            query_bundle.embedding = self.embed_query(query_bundle.query_str)
        if self.mode in ("dense", "hybrid"):
            rank = 0
            for pid, cosine, chunk in self.store.search_chunks(query_bundle.embedding, depth, allowed, len(self.papers)):
                s = signals.setdefault(pid, Signals())
                if "chunks" not in s.ranks:  # a paper's nearest chunk ranks it
                    rank += 1
                    s.ranks["chunks"], s.scores["chunks"], s.best_chunk = rank, cosine, chunk
        if keyword is not None:
            hits = keyword.result()
            for rank, (pid, score) in enumerate(hits, start=1):
                s = signals.setdefault(pid, Signals())
                s.ranks["bm25"] = rank
                s.scores["bm25"] = score
            if self.mode == "hybrid" and len(hits) < depth:
                # BM25 returned every paper holding a word of the question: the others score 0, exactly, and
                # count so in fusion ("SaRA" is in one abstract; z-scored alone it stood level with the rest)
                for s in signals.values():
                    s.scores.setdefault("bm25", 0.0)
        if self.mode in ("dense", "hybrid"):
            # The sentence signal of every paper found above, exactly: no second vector search.
            best = self.sentences.best(list(signals), query_bundle.embedding)
            ordered = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))
            for rank, (pid, score) in enumerate(ordered, start=1):
                signals[pid].ranks["sentences"] = rank
                signals[pid].scores["sentences"] = score
        return signals

    def fuse(self, signals: dict[str, Signals]) -> list[tuple[str, float]]:
        """Hybrid: the `fusion` rule over the three lists; dense: equal-weight reciprocal rank of its two
        lists; bm25: BM25's own order and scores (the single-list and dense orders measured best as they are)."""
        if self.mode == "bm25":
            found = ((pid, s.scores["bm25"]) for pid, s in signals.items() if "bm25" in s.scores)
            return sorted(found, key=lambda kv: (-kv[1], kv[0]))
        if self.mode == "dense":
            return fuse_rrf(signals, {"chunks": 1.0, "sentences": 1.0}, self.settings.rrf_k)
        weights = {
            "chunks": self.settings.weight_chunks,
            "sentences": self.settings.weight_sentences,
            "bm25": self.settings.weight_bm25,
        }
        if self.settings.fusion == "rrf":
            return fuse_rrf(signals, weights, self.settings.rrf_k)
        return fuse_zscore(signals, weights)


def fuse_rrf(signals: dict[str, Signals], weights: dict[str, float], k: int) -> list[tuple[str, float]]:
    """Weighted reciprocal-rank fusion, best first (ties by id); papers no weighted list returned are left out."""
    scored = {
        pid: sum(weights.get(name, 0.0) / (k + rank) for name, rank in s.ranks.items()) for pid, s in signals.items()
    }
    return sorted((item for item in scored.items() if item[1] > 0), key=lambda kv: (-kv[1], kv[0]))


def fuse_zscore(signals: dict[str, Signals], weights: dict[str, float]) -> list[tuple[str, float]]:
    """Convex combination of z-scores, best first (ties by id). Each list's raw scores (cosine, BM25) are
    standardised over the papers that list returned, so scales and spreads are comparable per question; a
    paper a list did not return scores that list's lowest, as its true score is at most that. Measured
    against rank fusion, min-max and theoretical-range scaling in benchmarks/QUALITY.md."""
    stats: dict[str, tuple[float, float, float]] = {}  # list -> mean, deviation, lowest returned score
    for name, weight in weights.items():
        values = [s.scores[name] for s in signals.values() if name in s.scores]
        if weight <= 0 or not values:
            continue
        mean = math.fsum(values) / len(values)
        # Plain floats: statistics.pstdev computes with Fractions, 0.5 ms of a 16 ms question.
        deviation = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / len(values))
        stats[name] = (mean, deviation or 1.0, min(values))
    scored = {
        pid: sum(weights[name] * (s.scores.get(name, low) - mean) / dev for name, (mean, dev, low) in stats.items())
        for pid, s in signals.items()
        if any(name in s.scores for name in stats)
    }
    return sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))
