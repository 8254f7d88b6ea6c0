"""Data shipped with the package: the bundled question set (questions.jsonl), read with importlib.resources."""
