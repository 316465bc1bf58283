"""The one error type users see: a message they can act on, shown as one line by the CLI."""

from __future__ import annotations


class VigilError(Exception):
    """A user mistake or bad input: the CLI prints the message and exits non-zero."""

    exit_code = 2


class InputError(VigilError):
    """An input file is unreadable or lacks what the canonical format requires."""


class ConfigError(VigilError):
    """A scenario, catalogue, watchlist or FIU config is invalid."""


class QuarantineError(VigilError):
    """A run would quarantine more of its rows than the user allowed."""
