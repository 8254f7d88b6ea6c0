"""Typed errors whose messages say how to fix the problem; translated only at the edges (the CLI maps
them to exit codes, the page to messages)."""

from __future__ import annotations


class AssistantError(Exception):
    """Base of every error the assistant raises on purpose; `exit_code` is the CLI's (README "Exit codes")."""

    exit_code = 1


class InvalidQuestion(AssistantError):
    """Empty or oversized question."""

    exit_code = 2


class PaperNotFound(AssistantError):
    """A paper id the store does not hold."""

    exit_code = 2


class StoreError(AssistantError):
    """The store is corrupt, foreign or built with other settings."""

    exit_code = 4


class CorpusError(AssistantError):
    """No usable abstracts could be read."""

    exit_code = 4


class LLMUnavailable(AssistantError):
    """The configured LLM could not answer (after retries)."""

    exit_code = 3


class ConfigError(AssistantError):
    """A setting is missing or inconsistent."""

    exit_code = 2


class ModelInstallError(AssistantError):
    """A model could not be fetched or did not match its recorded hashes."""
