"""Settings read from the environment, each in one place.

`ARTICLE_PIPELINE_SHARED` points at the shared data and referee tools (default: ``../shared``
beside the repository root). `ARTICLE_PIPELINE_MODELS` points at the shipped models.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """The folder with seeds/, corpus/ and tools/ (may not exist on a user's machine)."""
    return Path(os.environ.get("ARTICLE_PIPELINE_SHARED", REPO_ROOT.parent / "shared")).resolve()


def models_dir() -> Path:
    """The folder holding the shipped models, found wherever the command is run from."""
    return Path(os.environ.get("ARTICLE_PIPELINE_MODELS", REPO_ROOT / "models")).resolve()


def default_topic_model() -> Path:
    return models_dir() / "topic.joblib"


def default_line_model() -> Path:
    return models_dir() / "lines.joblib"


MAX_PAGE_BYTES = int(os.environ.get("ARTICLE_PIPELINE_MAX_PAGE_BYTES", 8_000_000))
"""Pages larger than this are rejected as bad input (bounded memory and time per page)."""

MAX_PAGE_LINES = int(os.environ.get("ARTICLE_PIPELINE_MAX_PAGE_LINES", 200_000))
"""Pages with more non-empty lines than this are rejected as bad input."""
