"""Abstract Assistant: cited answers over machine-learning abstracts, offline by default."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# The stack must never reach for a model hub or phone home; set before any of it is imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

if TYPE_CHECKING:
    from .api import Assistant
    from .config import Settings

__all__ = ["Assistant", "Settings"]


def __getattr__(name: str) -> Any:
    # Lazy so that `assistant --help` and `import assistant.config` stay free of the ML stack.
    if name == "Assistant":
        from .api import Assistant

        return Assistant
    if name == "Settings":
        from .config import Settings

        return Settings
    raise AttributeError(name)
