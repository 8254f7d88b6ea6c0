"""Abstract Assistant: cited answers over machine-learning abstracts, offline by default."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# Importing the package changes nothing in os.environ: what the stack needs set is set where that
# part of the stack is built (providers.offline_environment for the models, ui for gradio).
if TYPE_CHECKING:
    from .api import Assistant
    from .config import Settings
    from .filters import Filters

__all__ = ["Assistant", "Filters", "Settings"]


def __getattr__(name: str) -> Any:
    # Lazy so that `assistant --help` and `import assistant.config` stay free of the ML stack.
    if name == "Assistant":
        from .api import Assistant

        return Assistant
    if name == "Settings":
        from .config import Settings

        return Settings
    if name == "Filters":
        from .filters import Filters

        return Filters
    raise AttributeError(name)
