"""The tables of a fixed run (sea-dev + seeds + zyte-dev, shipped models) stay what they were.

A refactoring must not change behaviour: this test runs the pipeline over the three corpora and
compares its tables with `tests/reference/`, written from the same run before the change. The
reference holds no page text (ids, line numbers, roles, links, topics, scores and a SHA-1 of each
text column), so nothing from ../shared is committed.

Categorical and integer columns must be equal; the float columns (classifier probabilities,
similarity scores) agree within `FLOAT_TOLERANCE`, because another CPU or BLAS build rounds the
last bits differently (on one machine the run is byte-identical: tests/test_write.py).

A deliberate model change rewrites the reference: ``.venv/bin/python -m tests.test_same_outputs``.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline import config

REFERENCE = Path(__file__).parent / "reference"
FLOAT_TOLERANCE = 1e-5
"""float32 columns; probabilities differ across machines by ~1e-7, far below this."""
CORPORA = ("corpus/sea-dev", "seeds", "corpus/zyte-dev")
TEXT_COLUMNS = {"paragraphs": ["text"], "articles": ["url", "title", "body", "on_topic_body"]}


def fingerprint(table: pd.DataFrame, text_columns: list[str]) -> pd.DataFrame:
    """`table` with each text column replaced by the SHA-1 of its values (null stays null)."""
    out = table.copy()
    for column in text_columns:
        out[column] = pd.array(
            [None if pd.isna(v) else hashlib.sha1(v.encode("utf-8")).hexdigest() for v in table[column]],
            dtype="string",
        )
    return out


def run_tables(out: Path) -> dict[str, pd.DataFrame]:
    from pipeline import load_models, run_batch

    inputs = [config.shared_dir() / c for c in CORPORA]
    run_batch(inputs, out, load_models(), progress=False)
    return {
        name: fingerprint(pd.read_parquet(out / f"{name}.parquet"), columns)
        for name, columns in TEXT_COLUMNS.items()
    }


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> dict[str, pd.DataFrame]:
    missing = [c for c in CORPORA if not (config.shared_dir() / c).exists()]
    if missing:
        where = config.shared_dir() / missing[0]
        pytest.skip(f"shared data not found at {where} (set ARTICLE_PIPELINE_SHARED)")
    return run_tables(tmp_path_factory.mktemp("same") / "out")


@pytest.mark.parametrize("name", sorted(TEXT_COLUMNS))
def test_tables_equal_the_reference(tables, name):
    expected = pd.read_parquet(REFERENCE / f"{name}.parquet")
    found = tables[name]
    assert list(found.columns) == list(expected.columns)
    assert len(found) == len(expected)
    floats = [c for c in found.columns if str(found[c].dtype).lower().startswith("float")]
    exact = [c for c in found.columns if c not in floats]
    pd.testing.assert_frame_equal(found[exact], expected[exact], check_exact=True)
    for column in floats:
        a = found[column].to_numpy(dtype=float, na_value=np.nan)
        b = expected[column].to_numpy(dtype=float, na_value=np.nan)
        assert np.array_equal(np.isnan(a), np.isnan(b)), column
        assert np.nanmax(np.abs(a - b), initial=0.0) <= FLOAT_TOLERANCE, column


def write_reference() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for name, table in run_tables(Path(tmp) / "out").items():
            REFERENCE.mkdir(exist_ok=True)
            table.to_parquet(REFERENCE / f"{name}.parquet", index=False, compression="zstd")
            print(f"wrote {REFERENCE / name}.parquet: {len(table)} rows", file=sys.stderr)


if __name__ == "__main__":
    write_reference()
