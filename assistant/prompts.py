"""Prompt templates as files with named {slots}, checked when loaded; and the shared abstention sentence."""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path

# The one sentence that means "the sources don't answer this", used by prompts, code and tests.
CANNOT_ANSWER = "The provided abstracts do not answer this question."

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"

# Each template and the slots it must use: no more, no fewer.
SLOTS: dict[str, frozenset[str]] = {
    "answer_system": frozenset({"max_sentences", "cannot_answer"}),
    "answer_user": frozenset({"sources", "question"}),
    "source_block": frozenset({"n", "title", "text"}),
    "condense": frozenset({"history", "question"}),
}


class PromptError(ValueError):
    """A bundled prompt file is missing or has the wrong slots."""


def slots_of(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@lru_cache(maxsize=None)
def load(name: str, directory: Path = PROMPTS_DIR) -> str:
    """The template text, after checking it uses exactly its expected slots."""
    path = directory / f"{name}.txt"
    try:
        template = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PromptError(f"prompt file {path} cannot be read ({exc.strerror}); reinstall the package") from None
    expected = SLOTS.get(name)
    found = slots_of(template)
    if expected is not None and found != expected:
        raise PromptError(f"prompt {path.name} has slots {sorted(found)}, expected {sorted(expected)}")
    return template


def render(name: str, **values: object) -> str:
    return load(name).format(**values)
