"""Settings read from the environment, each in one place.

`ARTICLE_PIPELINE_SHARED` points at the shared data and referee tools (default: ``../shared``
beside the repository root). `ARTICLE_PIPELINE_MODELS` points at the shipped models.
`ARTICLE_PIPELINE_MAX_PAGE_BYTES` / `_LINES` bound a page. Each is read when it is used, not at
import, so a setting changed in a running process (or a test) takes effect.
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


def max_page_bytes() -> int:
    """Pages larger than this are rejected as bad input (bounded memory and time per page)."""
    return int(os.environ.get("ARTICLE_PIPELINE_MAX_PAGE_BYTES", 8_000_000))


def max_page_lines() -> int:
    """Pages with more non-empty lines than this are rejected as bad input."""
    return int(os.environ.get("ARTICLE_PIPELINE_MAX_PAGE_LINES", 200_000))
