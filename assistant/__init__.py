"""Abstract Assistant: cited answers over machine-learning abstracts, offline by default."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Importing the package changes nothing in os.environ: what the stack needs set is set where that
# part of the stack is built (providers.offline_environment for the models, ui for gradio).
if TYPE_CHECKING:
    from .api import Assistant
    from .config import Settings
    from .errors import (
        AssistantError,
        ConfigError,
        CorpusError,
        InvalidQuestion,
        LLMUnavailable,
        PaperNotFound,
        StoreError,
    )
    from .filters import Filters
    from .types import Answer, Citation, Paper, Passage

# Where each public name lives, imported on first use: `assistant --help` and `import assistant.config`
# stay free of the ML stack.
_HOMES = {
    "Assistant": "api", "Settings": "config", "Filters": "filters",
    "Answer": "types", "Citation": "types", "Paper": "types", "Passage": "types",
    "AssistantError": "errors", "ConfigError": "errors", "CorpusError": "errors", "InvalidQuestion": "errors",
    "LLMUnavailable": "errors", "PaperNotFound": "errors", "StoreError": "errors",
}
__all__ = [
    "Answer", "Assistant", "AssistantError", "Citation", "ConfigError", "CorpusError", "Filters", "InvalidQuestion",
    "LLMUnavailable", "Paper", "PaperNotFound", "Passage", "Settings", "StoreError",
]


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})  # the lazy names too: a shell's completion finds them


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(name)
    return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
