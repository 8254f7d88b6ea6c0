"""Evaluation metrics as small pure functions: retrieval over distinct paper ids, and answer quality.

Ranked lists are de-duplicated to papers before scoring (a paper hit by two chunks counts once); hit@1,
MRR and nDCG@10 come from ranx, batched over all cases, and recall@k is our own all-or-nothing one.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .cite import MARKER, markers
from .corpus import normalise
from .errors import ConfigError
from .text import content_terms, split_sentences, words
from .types import Citation, Paper

if TYPE_CHECKING:
    from types import ModuleType

RANX_METRICS = {"hit_at_1": "hit_rate@1", "mrr": "mrr", "ndcg_at_10": "ndcg@10"}  # our field -> ranx's name


# -- retrieval (binary relevance over distinct paper ids) ---------------------------------------
def dedupe(ids: Iterable[str]) -> list[str]:
    """Ids in first-seen order, each once: a paper hit by two chunks counts once."""
    return list(dict.fromkeys(ids))


def recall_all_at(ranked: Sequence[str], gold: Iterable[str], k: int = 5) -> float:
    """1 when *every* expected paper is among the top k distinct papers (the issue's recall@5).

    Our own: the libraries' recall is the fraction found, not all-or-nothing."""
    wanted = set(gold)
    return float(bool(wanted) and wanted <= set(dedupe(ranked)[:k]))


class RankScores(NamedTuple):
    """The four retrieval metrics of one case."""

    hit_at_1: float
    recall: float  # all-or-nothing recall@k
    mrr: float
    ndcg_at_10: float  # textbook nDCG: the ideal ranking holds at most 10 expected papers


def require_ranx() -> ModuleType:
    """ranx, imported only when scoring (it pulls numba); missing, it is a ConfigError saying how to install it."""
    try:
        import ranx
    except ImportError as exc:
        raise ConfigError(
            f"evaluation needs ranx for hit@1, MRR and nDCG ({exc}): pip install 'abstract-assistant[eval]'"
        ) from exc
    return ranx


def rank_scores(cases: Sequence[tuple[Sequence[str], Iterable[str]]], k: int = 5) -> list[RankScores]:
    """Scores of each (ranked ids, expected ids) case; one ranx evaluation over all cases, since
    ranx's per-call cost (numba typed dicts) dwarfs the metrics themselves."""
    ranx = require_ranx()
    tops = [dedupe(ranked) for ranked, _ in cases]
    golds = [dedupe(gold) for _, gold in cases]
    scored = [i for i in range(len(cases)) if tops[i] and golds[i]]  # the rest score 0, as no hit can happen
    per_case: dict[str, dict[str, float]] = {}
    if scored:
        qid = {i: f"q{i:06d}" for i in scored}
        qrels = ranx.Qrels({qid[i]: {doc: 1 for doc in golds[i]} for i in scored})
        # Distinct descending scores, so ranx ranks each list in exactly our order.
        run = ranx.Run({qid[i]: {doc: float(len(tops[i]) - r) for r, doc in enumerate(tops[i])} for i in scored})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numba's type-safety notes about ranx's own casts
            ranx.evaluate(qrels, run, list(RANX_METRICS.values()), return_mean=False, make_comparable=False)
        per_case = {field: dict(run.scores[name]) for field, name in RANX_METRICS.items()}
    out: list[RankScores] = []
    for i in range(len(cases)):
        key = f"q{i:06d}"
        metric = {field: float(per_case[field][key]) if i in scored else 0.0 for field in RANX_METRICS}
        out.append(RankScores(recall=recall_all_at(tops[i], golds[i], k), **metric))
    return out


def retrieval_scores(ranked: Sequence[str], gold: Iterable[str], k: int = 5) -> dict[str, float]:
    """The four retrieval metrics of one question, under their report keys (batch with rank_scores)."""
    scores = rank_scores([(ranked, list(gold))], k)[0]
    return {"hit@1": scores.hit_at_1, f"recall@{k}": scores.recall, "mrr": scores.mrr, "ndcg@10": scores.ndcg_at_10}


# -- answers ---------------------------------------------------------------------------------------
def citation_precision(cited: Iterable[str], gold: Iterable[str]) -> float | None:
    """Share of cited papers that are expected; None when nothing was cited."""
    cited_set, wanted = set(cited), set(gold)
    return len(cited_set & wanted) / len(cited_set) if cited_set else None


def citation_recall(cited: Iterable[str], gold: Iterable[str]) -> float | None:
    """Share of expected papers that were cited; None when nothing was expected."""
    cited_set, wanted = set(cited), set(gold)
    return len(cited_set & wanted) / len(wanted) if wanted else None


def cited_sentence_share(text: str, n_citations: int) -> float | None:
    """Share of the answer's sentences that carry at least one marker naming a real citation."""
    sentences = [s for s in split_sentences(text) if words(MARKER.sub(" ", s))]
    if not sentences:
        return None
    carrying = sum(any(1 <= n <= n_citations for n in markers(s)) for s in sentences)
    return carrying / len(sentences)


def unresolved_markers(text: str, n_citations: int) -> int:
    """Markers in the final answer that name no citation (the validator should leave none)."""
    return sum(not 1 <= n <= n_citations for n in markers(text))


def strip_markers(text: str) -> str:
    """The answer without its [n] markers, for comparing with a reference answer."""
    return re.sub(r"\s+([.,;:!?])", r"\1", MARKER.sub("", text)).strip()


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 over lower-cased word tokens (longest common subsequence), markers ignored."""
    cand, ref = words(strip_markers(candidate)), words(reference)
    lcs = _lcs(cand, ref) if cand and ref else 0
    if not lcs:
        return 0.0
    precision, recall = lcs / len(cand), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


# -- evidence: does the answer cite the sentence that holds what was expected? --------------------
# Where a quote spans sentences, the share of its words the cited ones must hold (hand-checked in the tests).
EVIDENCE_SHARE = 0.5


def _sentence_spans(text: str, sentences: Sequence[str]) -> list[tuple[int, int, str]]:
    """Where each (normalised) sentence stands in the normalised abstract `text`."""
    spans, position = [], 0
    for sentence in map(normalise, sentences):
        start = text.find(sentence, position)
        if start >= 0:
            spans.append((start, start + len(sentence), sentence))
            position = start + len(sentence)
    return spans


def evidence_overlap(quote: str, abstract: str, cited: Sequence[str]) -> float:
    """Share of the quote's content words that stand inside the cited sentences of the abstract (case
    and whitespace ignored): 1 when they contain it, 0 when it is in a sentence they do not include.

    By position, not by shared vocabulary: an abstract's other sentences repeat its topic words."""
    text, needle = normalise(abstract), normalise(quote)
    chosen = {normalise(s) for s in cited}
    spans = _sentence_spans(text, split_sentences(abstract))
    terms = content_terms if content_terms(needle) else words  # a quote of stopwords only counts every word
    best, at = 0.0, text.find(needle) if needle else -1
    while at >= 0:  # every place the quote stands; the best counts
        end = at + len(needle)
        inside = [(lo, hi, s) for lo, hi, s in spans if lo < end and at < hi]  # the sentences it crosses
        pieces = [(len(terms(text[max(at, lo) : min(end, hi)])), s in chosen) for lo, hi, s in inside]
        total = sum(n for n, _ in pieces)
        best = max(best, sum(n for n, held in pieces if held) / total if total else 0.0)
        at = text.find(needle, at + 1)
    return best


def evidence_overlaps(
    quotes: Sequence[str], cited: Mapping[str, Sequence[str]], papers: Mapping[str, Paper]
) -> list[float | None]:
    """Per expected quote, the best evidence_overlap in a cited paper whose abstract holds it; None when
    the answer cites no such paper."""
    out: list[float | None] = []
    for quote in quotes:
        needle = normalise(quote)
        holders = [pid for pid in cited if pid in papers and needle in normalise(papers[pid].abstract)]
        out.append(max((evidence_overlap(quote, papers[pid].abstract, cited[pid]) for pid in holders), default=None))
    return out


def evidence_hit(overlap: float | None) -> bool:
    """Whether the cited sentences hold an expected quote: they contain it, or EVIDENCE_SHARE of its words."""
    return overlap is not None and overlap >= EVIDENCE_SHARE


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity; 0 when either vector is zero."""
    va, vb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    norm = float(np.linalg.norm(va) * np.linalg.norm(vb))
    return float(va @ vb) / norm if norm else 0.0


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100), interpolating linearly between order statistics; None without values."""
    return float(np.percentile(values, q)) if len(values) else None


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that apply (None means 'not applicable' and is skipped)."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None
