"""Shared fixtures: the shared data folder (tests that need it skip when it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import config

REPO = config.REPO_ROOT


def shared_path(*parts: str) -> Path:
    """A path under the shared data folder; skips the calling test when it is absent."""
    path = config.shared_dir().joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found at {path} (set ARTICLE_PIPELINE_SHARED)")
    return path


@pytest.fixture(scope="session")
def models():
    from pipeline import load_models

    return load_models()


@pytest.fixture(scope="session")
def seeds_run(tmp_path_factory, models):
    """The pipeline's output over the repository's seeds/ (paragraphs, articles, summary)."""
    import pandas as pd

    from pipeline import run_batch

    out = tmp_path_factory.mktemp("seeds") / "out"
    summary = run_batch([REPO / "seeds"], out, models, progress=False)
    return pd.read_parquet(out / "paragraphs.parquet"), pd.read_parquet(out / "articles.parquet"), summary
