"""Batch evidence: a line that is another page's title is a teaser; a page alone is unchanged."""

from __future__ import annotations

import pandas as pd

from pipeline.stages.batch_evidence import TITLE_REASON as REASON
from pipeline.stages.batch_evidence import teasers_from_batch_titles
from pipeline.stages.read import Page, pages_frame
from pipeline.stages.segment import segment

STORY = "Police in Dien Bien arrested two men carrying heroin from Laos on Monday, the border guard said."
HEADLINE = "Dien Bien police seize 20 bricks of heroin"
OTHER = "Typhoon Bualoi topples trees across central Vietnam"


def run(pages: list[tuple[str, list[str]]], titles: list[str | None] | None = None) -> pd.DataFrame:
    records = [
        Page(doc_id=f"p{i}", text="\n".join(text for text, _ in lines), source="t", encoding="utf-8")
        for i, lines in enumerate(pages)
    ]
    frame = pages_frame(records)
    if titles is not None:
        frame["title"] = pd.array(titles, dtype="string")
    lines = segment(frame)
    roles = [role for page in pages for _, role in page]
    lines = lines.assign(
        role=pd.array(roles, dtype="string"), reason=pd.array(["model"] * len(roles), dtype="string")
    )
    return teasers_from_batch_titles(lines, frame)


def test_another_pages_headline_becomes_a_teaser():
    article = [(HEADLINE, "title"), (STORY, "body")]
    listing = [
        ("Latest news", "boilerplate"),
        (OTHER, "title"),
        (f"{HEADLINE.upper()}!", "body"),
        (STORY, "body"),
    ]
    out = run([article, listing])
    assert out["role"].tolist() == ["title", "body", "boilerplate", "title", "teaser", "body"]
    assert out["reason"].iloc[4] == REASON and out["reason"].iloc[3] == "model"


def test_a_second_title_line_that_heads_another_page_is_a_teaser():
    article = [(HEADLINE, "title"), (STORY, "body"), (OTHER, "title")]
    other = [(OTHER, "title"), (STORY.replace("Monday", "Sunday"), "body")]
    assert run([article, other])["role"].tolist() == ["title", "body", "teaser", "title", "body"]


def test_copies_of_one_story_keep_their_headlines_and_their_repeats():
    copy = [(HEADLINE, "title"), (STORY, "body"), (HEADLINE, "caption")]
    out = run([copy, copy])
    assert out["role"].tolist() == ["title", "body", "caption"] * 2


def test_a_records_own_title_field_is_evidence_too():
    article = [(STORY, "body")]
    listing = [("Latest news", "boilerplate"), (HEADLINE, "body"), (OTHER, "body")]
    out = run([article, listing], titles=[HEADLINE, None])
    assert out["role"].tolist() == ["body", "boilerplate", "teaser", "body"]


def test_short_lines_and_a_page_alone_are_left_as_they_are():
    alone = [(HEADLINE, "title"), (STORY, "body"), (HEADLINE, "body")]
    assert run([alone])["role"].tolist() == ["title", "body", "body"]
    sections = [("World news", "title"), (STORY, "body")]
    other = [("Menu", "boilerplate"), ("World news", "body")]
    assert run([sections, other])["role"].tolist() == ["title", "body", "boilerplate", "body"]
    empty = run([alone]).iloc[:0]
    assert teasers_from_batch_titles(empty, pages_frame([])).empty
