"""Decides whether retrieved evidence can answer a question, before an extractive answer is written.

Similarity alone cannot tell "a paraphrase of what an abstract says" from "a question about that
paper asking for something it never states" (its accuracy, hardware, datasets, affiliations).
So three checks, each a reason to abstain:
1. weak evidence: the best sentence's score is under the threshold (off-topic questions);
2. a missing detail: the question asks for a kind of fact (a metric, compute, an optimizer, an
   affiliation, a quantity, ...) that the best paper's abstract never states;
3. an unknown name: the question names something (a capitalised word or an acronym) that no
   abstract in the corpus mentions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from .text import STOPWORDS, stem, words

# Words that name a specific kind of fact; abstracts that state such a fact use the word too.
DETAIL_CUES = frozenset(
    stem(w)
    for w in """accuracy top-1 top-5 fid bleu auc f1 perplexity score scores gpu gpus tpu tpus hardware hours
    flops optimizer optimiser learning-rate schedule university universities affiliation affiliated
    institution company github license licence venue conference dataset datasets percentage""".split()
)
_ASKS = ("what", "which")
_QUANTITY = re.compile(r"\b(how (many|much)|what (percentage|fraction|share|proportion)|by what factor)\b", re.I)
_NUMBER = re.compile(r"\d|\b(twice|half|double|triple|times|fold|percent)\b", re.I)
_NAME = re.compile(r"\b(?:[A-Z][\w-]+|[\w-]*\d[\w-]*)")


class Weights(Protocol):
    df: dict[str, int]


class Scored(Protocol):
    score: float


def asked_details(question: str) -> set[str]:
    """Detail words the question asks for: a cue within four words after 'what' or 'which'."""
    tokens = words(question)
    asked: set[str] = set()
    for i, token in enumerate(tokens):
        if token in _ASKS or (token == "how" and i + 1 < len(tokens) and tokens[i + 1] in ("many", "much")):
            asked |= {stem(t) for t in tokens[i + 1 : i + 5]} & DETAIL_CUES
    return asked


def missing_details(question: str, best_abstract: str) -> list[str]:
    """What the question asks for that the best abstract never states."""
    present = {stem(w) for w in words(best_abstract)}
    missing = sorted(asked_details(question) - present)
    opening = " ".join(question.split()[:6])  # "How many ...?", not "is there a way ... how many ..."
    if _QUANTITY.search(opening) and not _NUMBER.search(best_abstract):
        missing.append("any number")
    return missing


def unknown_names(question: str, weights: Weights) -> list[str]:
    """Capitalised words, acronyms and numbered names in the question that no abstract mentions."""
    body = question.split(None, 1)[1] if len(question.split()) > 1 else ""  # the first word is capitalised anyway
    unknown: list[str] = []
    for token in _NAME.findall(body):
        parts = [p for p in token.lower().split("-") if p and p not in STOPWORDS]
        if not parts or token.lower() in STOPWORDS:
            continue
        if all(weights.df.get(stem(p), 0) == 0 for p in parts) and weights.df.get(stem(token.lower()), 0) == 0:
            unknown.append(token)
    return unknown


def abstention_reason(
    question: str, candidates: Sequence[Scored], best_abstract: str, weights: Weights, threshold: float
) -> str | None:
    """Why the evidence cannot answer the question, or None when it can."""
    if not candidates or candidates[0].score < threshold:
        return "no abstract is close enough to the question"
    missing = missing_details(question, best_abstract)
    if missing:
        return f"the closest abstract does not mention {', '.join(missing)}"
    unknown = unknown_names(question, weights)
    if unknown:
        return f"no abstract mentions {', '.join(unknown)}"
    return None
