"""Citation keys: parse, validate, renumber and format [n] markers. Pure functions."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .markdown import blocks
from .text import content_terms, rough_sentences, split_sentences
from .types import Citation, Paper

# [1], [2, 3], [1][2]; a marker group is one bracket holding comma-separated numbers.
MARKER = re.compile(r"\[\s*(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*\]")


# Ranges as models write them: "[1-3]", "[2, 4–6]" in one bracket, or "[1]–[3]" across two.
_RANGED = re.compile(r"\[\s*\d{1,3}(?:\s*[,;–—-]\s*\d{1,3})*\s*\]")
_RANGE = re.compile(r"(\d{1,3})\s*[-–—]\s*(\d{1,3})")
_RANGE_ACROSS = re.compile(r"\[\s*(\d{1,3})\s*\]\s*[-–—]\s*\[\s*(\d{1,3})\s*\]")
MAX_RANGE = 10  # a longer "range" is more likely two stray numbers than ten sources


def expand_ranges(text: str) -> str:
    """"[1-3]" and "[1]–[3]" as "[1, 2, 3]"; a backwards or overlong range keeps just its two ends. Only
    inside brackets of numbers: "pages 1-3, ..." in prose is left alone."""
    if "[" not in text:
        return text

    def spelled(m: re.Match[str]) -> str:
        a, b = int(m.group(1)), int(m.group(2))
        return ", ".join(map(str, range(a, b + 1))) if a <= b <= a + MAX_RANGE else f"{a}, {b}"

    text = _RANGE_ACROSS.sub(lambda m: f"[{spelled(m)}]", text)
    return _RANGED.sub(lambda m: _RANGE.sub(spelled, m.group(0)), text)


@dataclass(frozen=True)
class Validated:
    """Text whose markers all resolve, renumbered 1..m in order of first use."""

    text: str
    sources: list[int]  # original source numbers (1-based), in new-number order
    dropped: int  # markers removed because they pointed at no source


def markers(text: str) -> list[int]:
    """Every source number cited in `text`, in order, repeats included."""
    text = expand_ranges(text)
    return [int(n) for group in MARKER.findall(text) for n in re.split(r"\s*[,;]\s*", group.strip())]


_BEFORE_STOP = re.compile(rf"[ \t]*((?:{MARKER.pattern}[ \t]*)+?)[ \t]*(?=[.,;:!?])")  # "[2][3]." is one run
# "… by Smith et al. [7]." : the abbreviation's stop ends the sentence once the marker is gone (not "et al..")
_AFTER_ABBREVIATION = re.compile(rf"(?<=\.)[ \t]*({MARKER.pattern})\.(?!\.)")


def _drop_unknown(text: str, n_sources: int) -> tuple[str, int]:
    """Text without numbers outside 1..n_sources, and how many were removed."""
    dropped = 0

    def repl(match: re.Match[str]) -> str:
        nonlocal dropped
        numbers = [int(raw) for raw in re.split(r"\s*[,;]\s*", match.group(1).strip())]
        kept = [n for n in numbers if 1 <= n <= n_sources]
        dropped += len(numbers) - len(kept)
        return match.group(0) if len(kept) == len(numbers) else "".join(f"[{n}]" for n in kept)

    def before_stop(match: re.Match[str]) -> str:  # a marker removed whole takes the space before it along
        marker = MARKER.sub(repl, match.group(1))
        if marker == match.group(1):
            return match.group(0)  # nothing dropped: the text's own spacing stays
        marker = marker.rstrip()
        return match.group(0)[: match.start(1) - match.start(0)] + marker if marker else ""

    def after_abbreviation(match: re.Match[str]) -> str:
        marker = MARKER.sub(repl, match.group(1))
        return match.group(0)[: match.start(1) - match.start(0)] + marker + "." if marker else ""

    # "Second [7]." -> "Second.": only where a marker went; the sources' own "p : R^d" keeps its space.
    text = _BEFORE_STOP.sub(before_stop, _AFTER_ABBREVIATION.sub(after_abbreviation, text))
    # Removing a marker can join its neighbours into a new one ("[[9]1]" -> "[1]"): repeat until none is
    # left. Each pass removes digits, so this ends.
    while not all_resolve(text, n_sources):
        text = MARKER.sub(repl, text)
    return text, dropped


def validate(text: str, n_sources: int) -> Validated:
    """Drop markers outside 1..n_sources and renumber the rest by first use."""
    order: dict[int, int] = {}
    text, dropped = _drop_unknown(expand_ranges(text), n_sources)

    def repl(match: re.Match[str]) -> str:
        kept: list[int] = []
        for raw in re.split(r"\s*[,;]\s*", match.group(1).strip()):
            n = order.setdefault(int(raw), len(order) + 1)
            if n not in kept:
                kept.append(n)
        return "".join(f"[{k}]" for k in kept)

    cleaned = MARKER.sub(repl, text)
    cleaned = re.sub(r"[ \t]{2,}", " ", cleaned).strip()
    return Validated(text=cleaned, sources=sorted(order, key=order.__getitem__), dropped=dropped)


# Where a model's sentence ends: a stop (and its markers) before a capital. Not text.split_sentences, which glues
# a short sentence to the one before ("… generalises. In short:" is one there) and would flag or spare both.
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"“(\[]?[A-Z])")


def is_claim(sentence: str) -> bool:
    """Whether a sentence of a model's answer claims something a source should back: four words or more, and
    not a lead-in ending in ":" ("The abstracts say this:")."""
    return len(MARKER.sub("", sentence).split()) >= 4 and not sentence.rstrip().endswith(":")


def uncited_claim(sentence: str) -> bool:
    """A claim (is_claim) that cites no source: what the page underlines and what keeps an answer from "strong"."""
    return is_claim(sentence) and not markers(sentence)


def uncited_claims(text: str) -> list[str]:
    """The claims in a model's answer that cite nothing, read as the page lays the answer out: per paragraph and
    list item (an item's end ends its sentence even without a stop), headings aside."""
    return [
        sentence
        for kind, items in blocks(text)
        if kind != "h"
        for item in items
        for sentence in SENTENCE_END.split(item.strip())
        if sentence and uncited_claim(sentence)
    ]


def all_resolve(text: str, n_citations: int) -> bool:
    """Every marker in `text` names one of citations 1..n_citations."""
    return all(1 <= n <= n_citations for n in markers(text))


def format_references(items: Sequence[tuple[int, str]]) -> str:
    """A numbered reference list: `[n] Title`."""
    return "\n".join(f"[{n}] {title}" for n, title in items)


# -- which abstract sentences an answer cites -------------------------------------------------------
def _match_score(claim: set[str], sentence: set[str]) -> float:
    """Content-term F1 between an answer sentence and an abstract sentence."""
    shared = len(claim & sentence)
    return 2 * shared / (len(claim) + len(sentence)) if shared else 0.0


def _closest(claim: str, abstract: Sequence[str], terms: Sequence[set[str]]) -> str | None:
    """The abstract sentence (with its content `terms`) closest to `claim` by content-term F1, the earlier one
    on a tie; None when none shares a term."""
    claim_terms = set(content_terms(claim))
    scores = [_match_score(claim_terms, t) for t in terms]
    return abstract[scores.index(max(scores))] if scores and max(scores) > 0 else None


def abstract_sentences(paper: Paper, stored: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """The paper's abstract in sentences as ingest split it: those the store keeps (`stored`, by paper id), else
    split again. The page passes the store's: splitting again imports NLTK's sentence tokenizer, which took 1.5-3.4 s
    and 143 MB of the serving process at the first answer it showed."""
    kept = stored.get(paper.id) if stored is not None else None
    return list(kept) if kept else split_sentences(paper.abstract)


def marked_sentences(
    text: str, citations: Sequence[Citation], papers: Mapping[str, Paper], stored: Mapping[str, Sequence[str]] | None = None
) -> list[tuple[int, str | None]]:
    """Each `[n]` of the answer in order, with the abstract sentence of paper n its answer sentence came from (the
    rule of cited_sentences), or None where paper n is unknown: a reader's click on that [n] shows that sentence,
    not the paper's first quote. `stored`: see abstract_sentences."""
    by_n = {c.n: papers.get(c.paper_id) for c in citations}
    split: dict[int, tuple[list[str], list[set[str]]]] = {}
    out: list[tuple[int, str | None]] = []
    for sentence in rough_sentences(text):
        plain = MARKER.sub(" ", sentence)
        for found in MARKER.finditer(sentence):
            for n in markers(found.group(0)):
                paper = by_n.get(n)
                if paper is None:
                    out.append((n, None))
                    continue
                if n not in split:
                    abstract = abstract_sentences(paper, stored)
                    split[n] = abstract, [set(content_terms(s)) for s in abstract]
                out.append((n, _closest(plain.replace(paper.title, " "), *split[n])))
    return out


def cited_sentences(
    text: str,
    citations: Sequence[Citation],
    papers: Mapping[str, Paper],
    first: bool = False,
    stored: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, list[str]]:
    """Per cited paper id, the abstract sentences the answer cites, in abstract order.

    Each citation's quote and each answer sentence carrying its [n] (markers and the attributed title
    removed) count as the abstract sentence closest to them by content-term F1: the extractive composer's
    sentences are abstract sentences (first person rewritten), an LLM's paraphrase them, so one rule fits both.
    `first`: only what the answer's first cited sentence cites (what a reader reads first), no quote. `stored`: see
    abstract_sentences. The answer is split by text.rough_sentences: its sentences end in a stop after their markers."""
    claims: dict[int, list[str]] = {}
    for sentence in rough_sentences(text):
        plain = MARKER.sub(" ", sentence)
        for n in dict.fromkeys(markers(sentence)):
            claims.setdefault(n, []).append(plain)
        if first and claims:
            break
    out: dict[str, list[str]] = {}
    for citation in citations:
        paper = papers.get(citation.paper_id)
        if paper is None:
            continue
        abstract = abstract_sentences(paper, stored)
        terms = [set(content_terms(s)) for s in abstract]
        chosen = set(out.get(paper.id, []))
        answered = [claim.replace(paper.title, " ") for claim in claims.get(citation.n, [])]  # the attribution
        for claim in [*([] if first else [citation.quote]), *answered]:
            if (closest := _closest(claim, abstract, terms)) is not None:
                chosen.add(closest)
        if chosen:
            out[paper.id] = [s for s in abstract if s in chosen]
    return out
