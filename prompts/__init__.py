"""Prompt templates, shipped as the package `assistant.prompt_templates` (see pyproject.toml).

This file only makes the folder importable in an editable install; the templates are the .txt files.
"""
