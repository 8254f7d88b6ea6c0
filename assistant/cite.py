"""Citation keys: parse, validate, renumber and format [n] markers. Pure functions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# [1], [2, 3], [1][2]; a marker group is one bracket holding comma-separated numbers.
MARKER = re.compile(r"\[\s*(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*\]")


@dataclass(frozen=True)
class Validated:
    """Text whose markers all resolve, renumbered 1..m in order of first use."""

    text: str
    sources: list[int]  # original source numbers (1-based), in new-number order
    dropped: int  # markers removed because they pointed at no source


def markers(text: str) -> list[int]:
    """Every source number cited in `text`, in order, repeats included."""
    return [int(n) for group in MARKER.findall(text) for n in re.split(r"\s*[,;]\s*", group.strip())]


def validate(text: str, n_sources: int) -> Validated:
    """Drop markers outside 1..n_sources and renumber the rest by first use."""
    order: dict[int, int] = {}
    dropped = 0

    def repl(match: re.Match[str]) -> str:
        nonlocal dropped
        kept: list[int] = []
        for raw in re.split(r"\s*[,;]\s*", match.group(1).strip()):
            n = int(raw)
            if 1 <= n <= n_sources:
                order.setdefault(n, len(order) + 1)
                if order[n] not in kept:
                    kept.append(order[n])
            else:
                dropped += 1
        return "".join(f"[{k}]" for k in kept)

    cleaned = MARKER.sub(repl, text)
    cleaned = re.sub(r"[ \t]+([.,;:!?])", r"\1", cleaned)  # no space left before punctuation
    cleaned = re.sub(r"[ \t]{2,}", " ", cleaned).strip()
    return Validated(text=cleaned, sources=sorted(order, key=order.__getitem__), dropped=dropped)


def all_resolve(text: str, n_citations: int) -> bool:
    """Every marker in `text` names one of citations 1..n_citations."""
    return all(1 <= n <= n_citations for n in markers(text))


def format_references(items: Sequence[tuple[int, str]]) -> str:
    """A numbered reference list: `[n] Title`."""
    return "\n".join(f"[{n}] {title}" for n, title in items)
