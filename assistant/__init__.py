"""Abstract Assistant: cited answers over machine-learning abstracts, offline by default."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# Importing the package changes nothing in os.environ: what the stack needs set is set where that
# part of the stack is built (providers.offline_environment for the models, ui for gradio).
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
