"""The four seed files, shipped as the package `assistant.seed_files` (see pyproject.toml).

This file only makes the folder importable in an editable install; ingest reads the .txt files only.
"""
