"""Terminal escape sequences and control characters out of text the CLI prints: an abstract read from a file, a
model's reply. Neither may drive the terminal (clear it, retitle it, hide a link under other words). Pure functions."""

from __future__ import annotations

import re

_ESCAPES = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?)?")
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Text without terminal escapes; other control characters become spaces (line breaks stay)."""
    return _CONTROLS.sub(" ", _ESCAPES.sub("", text))


def printable_reply(text: str) -> str:
    """A model's whole reply printable (modeltext.clean; a stream is re-read whole at each piece, so an escape split
    across two pieces goes whole), and without carriage returns, with which it could print over its own line."""
    return printable(text.replace("\r", ""))
