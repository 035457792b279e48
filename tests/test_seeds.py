"""Issue 2's acceptance on the two seed pages, with the shipped models."""

from __future__ import annotations

import json

import pandas as pd

from pipeline import config
from pipeline.scoring.corpora import load_gold_lines
from pipeline.scoring.metrics import gold_body

from .conftest import shared_path

SEED_001 = "001_4604689f0c31e141"
SEED_000 = "000_47f2573022b012a6"


def rows(paragraphs: pd.DataFrame, doc_id: str) -> pd.DataFrame:
    return paragraphs[paragraphs["doc_id"] == doc_id].set_index("line_no")


def test_seed_001_roles_links_and_body(seeds_run):
    paragraphs, articles, _ = seeds_run
    page = rows(paragraphs, SEED_001)
    assert page.loc[1, "role"] == "title"
    assert page.loc[24, "role"] == page.loc[26, "role"] == "boilerplate"
    teasers = page.loc[28:92]
    assert (teasers["role"] == "teaser").all() and (teasers["topic"] == "off").all()
    assert page.loc[6, "dup_of"] == 5 or page.loc[5, "dup_of"] == 6
    assert page.loc[3, "dup_of"] == 14  # the standfirst points to the paragraph that contains it
    rest = page.drop(index=[1, 24, 26, *range(28, 93)], errors="ignore")
    assert rest["role"].isin(["body", "caption"]).all()
    body = articles.set_index("doc_id").loc[SEED_001, "body"]
    expected = "\n\n".join(page.loc[8:22, "text"])
    assert body == expected
    assert body.count(page.loc[3, "text"]) == 1


def test_seed_000_is_all_body(seeds_run):
    paragraphs, _, _ = seeds_run
    page = rows(paragraphs, SEED_000)
    assert len(page) == 10 and (page["role"] == "body").all() and page["dup_of"].isna().all()


def test_seeds_match_gold_exactly(seeds_run):
    """Roles, links and body as in ../shared/seeds/*.json; topic on every content line but one."""
    paragraphs, articles, _ = seeds_run
    gold = load_gold_lines(shared_path("seeds"))
    joined = gold.merge(
        paragraphs.drop(columns="text"), on=["doc_id", "line_no"], how="left", validate="one_to_one"
    )
    assert (joined["role"] == joined["gold_role"]).all()
    for doc_id, page in joined.groupby("doc_id"):
        gold_links = {
            frozenset((int(n), int(d)))
            for n, d in zip(page["line_no"], page["gold_dup_of"], strict=True)
            if pd.notna(d)
        }
        links = {
            frozenset((int(n), int(d)))
            for n, d in zip(page["line_no"], page["dup_of"], strict=True)
            if pd.notna(d)
        }
        assert links == gold_links, doc_id
        body = articles.set_index("doc_id").loc[doc_id, "body"]
        assert body == gold_body(page), doc_id
    content = joined[joined["gold_topic"].notna()]
    assert (content["topic"] != content["gold_topic"]).sum() <= 1


def test_seed_texts_are_the_shared_seeds():
    """seeds/ holds copies of the shared seed dumps (the tests above read the repository's)."""
    shared = shared_path("seeds")
    for txt in (config.REPO_ROOT / "seeds").glob("*.txt"):
        assert txt.read_bytes() == (shared / txt.name).read_bytes()
        assert json.loads((shared / txt.with_suffix(".json").name).read_text())["id"] == txt.stem
