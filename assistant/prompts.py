"""Prompt templates as files with named {slots}, checked when loaded; and the shared abstention sentence."""

from __future__ import annotations

import string
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from .errors import AssistantError

# The one sentence that means "the sources don't answer this", used by prompts, code and tests.
CANNOT_ANSWER = "The provided abstracts do not answer this question."

# The repository's top-level prompts/ folder, mapped into the package by pyproject.toml so a wheel has it.
PROMPTS_PACKAGE = "assistant.prompt_templates"
REINSTALL = "reinstall the package (pip install --force-reinstall abstract-assistant, or pip install -e . in a clone)"

# Each template and the slots it must use: no more, no fewer.
SLOTS: dict[str, frozenset[str]] = {
    "answer_system": frozenset({"max_sentences", "cannot_answer"}),
    "answer_user": frozenset({"sources", "question", "max_sentences", "cannot_answer"}),
    "source_block": frozenset({"n", "title", "text"}),
    "condense": frozenset({"history", "question"}),
}


class PromptError(AssistantError, ValueError):
    """A bundled prompt file is missing or has the wrong slots."""


def slots_of(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def bundled() -> Traversable:
    """The folder of shipped templates, wherever the package is installed (wheel, editable or zip)."""
    try:
        return resources.files(PROMPTS_PACKAGE)
    except ModuleNotFoundError:
        raise PromptError(f"the prompt templates ({PROMPTS_PACKAGE}) are not installed; {REINSTALL}") from None


@lru_cache(maxsize=None)
def load(name: str, directory: Path | None = None) -> str:
    """The template text (from `directory`, default the shipped ones), after checking its slots."""
    path = (directory or bundled()) / f"{name}.txt"
    try:
        template = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PromptError(f"prompt file {path} cannot be read ({exc.strerror}); {REINSTALL}") from None
    expected = SLOTS.get(name)
    found = slots_of(template)
    if expected is not None and found != expected:
        raise PromptError(f"prompt {path.name} has slots {sorted(found)}, expected {sorted(expected)}")
    return template


def render(name: str, **values: object) -> str:
    return load(name).format(**values)
