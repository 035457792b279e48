"""Property tests over random pages: the reader and the stages never crash, and every non-empty
line of a page gets exactly one row whose line_no maps back to the text."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import process_chunk
from pipeline.schema import ROLES
from pipeline.stages.decode import looks_binary
from pipeline.stages.formats import read_text_file
from pipeline.stages.read import Page, Problem, pages_frame
from pipeline.stages.segment import segment

# every separator str.splitlines() knows, plus a few that are not separators
SEPARATORS = ["\n", "\r\n", "\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\t", " "]
SNIPPETS = ["", " ", "\u3000", "See more", "VNA", "Photo: AFP", "\ufeff", "Ảnh 1", "123", "—"]

any_text = st.text(st.characters(blacklist_categories=["Cs"]))  # surrogates cannot be files or Parquet
line_text = st.one_of(any_text, st.sampled_from(SNIPPETS))
pages_text = st.one_of(
    any_text,
    st.builds(
        lambda parts, seps: "".join(p + seps[i % len(seps)] for i, p in enumerate(parts)),
        st.lists(line_text, max_size=12),
        st.lists(st.sampled_from(SEPARATORS), min_size=1, max_size=4),
    ),
)

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def non_empty_lines(text: str) -> list[int]:
    return [n for n, line in enumerate(text.splitlines(), start=1) if line and not line.isspace()]


def assert_rows_map_back(pages: pd.DataFrame, lines: pd.DataFrame) -> None:
    """One row per non-empty line of every page; line_no and text match str.splitlines()."""
    for doc_id, text in zip(pages["doc_id"], pages["text"], strict=True):
        rows = lines[lines["doc_id"] == doc_id]
        assert rows["line_no"].tolist() == non_empty_lines(text)
        split = text.splitlines()
        assert rows["text"].tolist() == [split[n - 1] for n in rows["line_no"]]


@pytest.fixture(scope="module")
def page_file(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz") / "page.txt"


@FUZZ
@given(text=pages_text)
def test_read_then_segment_maps_lines_back(page_file, text):
    raw = text.encode("utf-8")
    page_file.write_bytes(raw)
    items = list(read_text_file(page_file))
    assert len(items) == 1
    if looks_binary(raw) and not text.startswith("\ufeff"):  # a BOM says text, whatever follows
        assert isinstance(items[0], Problem) and items[0].skipped and "binary" in items[0].reason
        return
    page = items[0]
    assert isinstance(page, Page) and page.encoding == "utf-8"
    assert page.text == text.lstrip("\ufeff")
    pages = pages_frame([page])
    assert_rows_map_back(pages, segment(pages))


@FUZZ
@given(raw=st.binary(max_size=3000))
def test_any_bytes_read_without_crashing(page_file, raw):
    page_file.write_bytes(raw)
    items = list(read_text_file(page_file))
    pages = [i for i in items if isinstance(i, Page)]
    assert len(pages) + sum(isinstance(i, Problem) and i.skipped for i in items) == 1
    for page in pages:
        page.text.encode("utf-8")  # no lone surrogates: writable to Parquet
        assert not page.text.startswith("\ufeff")
        assert_rows_map_back(pages_frame(pages), segment(pages_frame(pages)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(pages_text, min_size=1, max_size=4))
def test_process_chunk_never_crashes_and_keeps_one_row_per_line(models, texts):
    pages = pages_frame(
        [Page(doc_id=f"d{i}", text=t, source=f"fuzz:{i}", encoding="utf-8") for i, t in enumerate(texts)]
    )
    lines, articles, _ = process_chunk(pages, models)
    assert_rows_map_back(pages, lines)
    assert articles["doc_id"].tolist() == pages["doc_id"].tolist()
    assert lines["role"].isin(ROLES).all()
    assert ((lines["p_on"] >= 0) & (lines["p_on"] <= 1)).all()
    assert (lines["topic"].isna() == (lines["role"] == "boilerplate")).all()
    for doc_id, rows in lines.groupby("doc_id"):
        links = rows["dup_of"].dropna()
        assert links.isin(rows["line_no"]).all(), doc_id
        assert not (rows["dup_of"] == rows["line_no"]).fillna(False).any(), doc_id
