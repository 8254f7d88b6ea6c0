"""Data shipped with the package: the bundled question set, found with importlib.resources."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

# A real path, for readers that take one: an installed package (wheel or editable) is a folder on disk.
QUESTIONS = Path(str(resources.files(__name__) / "questions.jsonl"))
