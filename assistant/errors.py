"""Typed errors whose messages say how to fix the problem; translated only at the edges (the CLI maps
them to exit codes, the page to messages)."""

from __future__ import annotations


class AssistantError(Exception):
    """Base of every error the assistant raises on purpose."""


class InvalidQuestion(AssistantError):
    """Empty or oversized question."""


class StoreError(AssistantError):
    """The store is corrupt, foreign or built with other settings."""


class CorpusError(AssistantError):
    """No usable abstracts could be read."""


class LLMUnavailable(AssistantError):
    """The configured LLM could not answer (after retries)."""


class ConfigError(AssistantError):
    """A setting is missing or inconsistent."""


class ModelInstallError(AssistantError):
    """A model could not be fetched or did not match its recorded hashes."""
