"""Evaluation metrics as small pure functions: retrieval over distinct paper ids, and answer quality.

Ranked lists are de-duplicated before scoring, because LlamaIndex's retrieval metrics (used here for
hit@1, MRR and nDCG) count a paper twice when two of its chunks are retrieved.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

from llama_index.core.evaluation.retrieval.metrics import MRR, NDCG, HitRate

from .cite import MARKER, markers
from .text import split_sentences, words


# -- retrieval (binary relevance over distinct paper ids) ---------------------------------------
def dedupe(ids: Iterable[str]) -> list[str]:
    """Ids in first-seen order, each once: a paper hit by two chunks counts once."""
    return list(dict.fromkeys(ids))


def hit_at(ranked: Sequence[str], gold: Iterable[str], k: int = 1) -> float:
    """1 when any expected paper is among the top k distinct papers."""
    top, wanted = dedupe(ranked)[:k], list(gold)
    if not top or not wanted:
        return 0.0
    return HitRate().compute(expected_ids=wanted, retrieved_ids=top).score


def recall_all_at(ranked: Sequence[str], gold: Iterable[str], k: int = 5) -> float:
    """1 when *every* expected paper is among the top k distinct papers (the issue's recall@5).

    Hand-rolled: LlamaIndex's Recall is the fraction found, not all-or-nothing."""
    wanted = set(gold)
    return float(bool(wanted) and wanted <= set(dedupe(ranked)[:k]))


def reciprocal_rank(ranked: Sequence[str], gold: Iterable[str]) -> float:
    """1/rank of the first expected paper among distinct papers; 0 when none was retrieved."""
    top, wanted = dedupe(ranked), list(gold)
    if not top or not wanted:
        return 0.0
    return MRR().compute(expected_ids=wanted, retrieved_ids=top).score


def ndcg_at(ranked: Sequence[str], gold: Iterable[str], k: int = 10) -> float:
    """nDCG@k with binary relevance over distinct papers.

    LlamaIndex's ideal DCG counts every expected paper, so it equals the textbook nDCG@k whenever a
    question expects at most k papers (ours expect at most four)."""
    top, wanted = dedupe(ranked)[:k], dedupe(gold)
    if not top or not wanted:
        return 0.0
    return NDCG().compute(expected_ids=wanted, retrieved_ids=top).score


def retrieval_scores(ranked: Sequence[str], gold: Iterable[str], k: int = 5) -> dict[str, float]:
    """The four retrieval metrics of one question, under their report keys."""
    gold = list(gold)
    return {
        "hit@1": hit_at(ranked, gold, 1),
        f"recall@{k}": recall_all_at(ranked, gold, k),
        "mrr": reciprocal_rank(ranked, gold),
        "ndcg@10": ndcg_at(ranked, gold, 10),
    }


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


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100), interpolating linearly between order statistics (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that apply (None means 'not applicable' and is skipped)."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None
