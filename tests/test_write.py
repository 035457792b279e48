"""The output folder is replaced atomically and its tables follow the schema."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipeline.schema import ARTICLES, PARAGRAPHS, empty_frame
from pipeline.stages.write import OutputWriter, stored_versions


def test_commit_replaces_previous_output_and_cleans_versions(tmp_path):
    out = tmp_path / "out"
    for run in range(2):
        with OutputWriter(out) as writer:
            writer.write(empty_frame(PARAGRAPHS), empty_frame(ARTICLES))
            writer.commit({"run": run})
    assert out.is_symlink()
    assert (out / "summary.json").read_text().strip().endswith("}")
    assert '"run": 1' in (out / "summary.json").read_text()
    assert [p.name for p in stored_versions(out)] == [out.resolve().name]
    assert pq.read_schema(out / "paragraphs.parquet").names == PARAGRAPHS.names


def test_failure_before_commit_leaves_previous_output(tmp_path):
    out = tmp_path / "out"
    with OutputWriter(out) as writer:
        writer.commit({"run": "first"})
    before = (out / "summary.json").read_text()
    with pytest.raises(RuntimeError), OutputWriter(out) as writer:
        writer.write(empty_frame(PARAGRAPHS), empty_frame(ARTICLES))
        raise RuntimeError("crash mid-run")
    assert (out / "summary.json").read_text() == before
    assert len(stored_versions(out)) == 1


def test_plain_folder_out_is_replaced(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("x")
    with OutputWriter(out) as writer:
        writer.commit({})
    assert out.is_symlink() and not (out / "old.txt").exists()
    assert pd.read_parquet(out / "articles.parquet").columns.tolist() == ARTICLES.names
