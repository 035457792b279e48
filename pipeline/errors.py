"""The errors a user sees: each one's message is written as it is, on one line, by the CLI.

Anything else that escapes a command is an internal error, shown with its type name (and with
its traceback under ``--debug``).
"""

from __future__ import annotations


class PipelineError(Exception):
    """An error whose message is meant for the user (one short line)."""


class InputError(PipelineError):
    """An input path that cannot be read at all (missing, unreadable): the run cannot start."""


class OutputError(PipelineError):
    """The output folder cannot be written."""


class ModelError(PipelineError):
    """A model file that is missing, modified or was saved with incompatible libraries."""


class StoryIndexError(PipelineError, ValueError):
    """A same-story index file that cannot be used with these settings."""


class BadInputError(PipelineError):
    """--strict met a bad page: the run fails and nothing is written."""


class NoPagesError(PipelineError):
    """The inputs hold no page at all (an empty folder, files with no page): nothing is written."""


class ReportError(PipelineError):
    """A report cannot be built (no such OUT, no such page)."""


class HandoffError(PipelineError):
    """--jobs workers cannot be given their chunks (the hand-off folder is full or gone)."""
