"""Page type: page features, listing labels, and no article on a page judged a listing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.learn.linefeatures import FEATURES, line_features, page_bounds
from pipeline.learn.linemodel import LineRoleClassifier, no_article
from pipeline.learn.pagetype import PAGE_FEATURES, _longest_runs, listing_labels, page_features
from pipeline.schema import ROLES
from pipeline.stages.read import Page, pages_frame
from pipeline.stages.segment import segment

STORY = (
    "Police in Dien Bien arrested two men carrying {n} bricks of heroin from Laos, the border guard said.",
    "The two men confessed that they carried the {n} bricks of heroin for a buyer in Dien Bien, police said.",
    "The heroin was hidden in a truck bound for Dien Bien, where the buyer waited, the police added.",
)
SUMMARIES = (
    "The Ministry of Health warned that dengue fever cases could spike in Hanoi this summer, officials said.",
    "A whale carcass about {n} metres long drifted ashore at a beach in Quang Ngai province on Sunday.",
    "Two fishing boats carrying {n} crew members capsized on Sunday while seeking shelter from the storm.",
    "The central bank kept its policy rate unchanged at {n} per cent on Tuesday, citing stable inflation.",
)


def lines_of(*pages: str) -> pd.DataFrame:
    frame = pages_frame(
        [Page(doc_id=f"p{i}", text=t, source="test", encoding="utf-8") for i, t in enumerate(pages)]
    )
    return segment(frame)


def article(n: int) -> tuple[str, list[str]]:
    text = "\n".join([f"Dien Bien police seize {n} bricks of heroin", *(s.format(n=n) for s in STORY)])
    return text, ["title", "body", "body", "body"]


def listing(n: int) -> tuple[str, list[str]]:
    items = [f"Headline number {n} {i}\n{s.format(n=n + i)}\n0{i}/05/2020" for i, s in enumerate(SUMMARIES)]
    return "Latest news\n" + "\n".join(items), ["boilerplate", *(["teaser", "teaser", "boilerplate"] * 4)]


def test_longest_runs_stay_inside_pages():
    flag = np.array([1, 1, 0, 1, 1, 1, 1, 0, 1], dtype=bool)
    starts, ends = np.array([0, 4, 8]), np.array([4, 8, 9])
    assert _longest_runs(flag, starts, ends).tolist() == [2, 3, 1]


def test_page_features_one_row_per_page_from_the_lines():
    lines = lines_of(article(3)[0], listing(5)[0])
    starts, ends, page_of = page_bounds(lines)
    X = line_features(lines)
    proba = np.zeros((len(lines), len(ROLES)))
    proba[:, ROLES.index("body")] = np.where(page_of == 0, 0.9, 0.2)
    proba[:, ROLES.index("teaser")] = 1 - proba[:, ROLES.index("body")]
    rows = page_features({n: X[n].to_numpy() for n in FEATURES}, proba, ROLES, starts, ends, page_of)
    f = pd.DataFrame(rows, columns=list(PAGE_FEATURES))
    assert rows.shape == (2, len(PAGE_FEATURES)) and rows.dtype == np.float32
    assert f["share_body"].tolist() == [1.0, 0.0]
    assert f["log_longest_body_run"].iloc[0] == np.float32(np.log1p(4))
    assert f["mean_p_teaser"].iloc[1] > 0.7 > f["mean_p_teaser"].iloc[0]
    assert f["date_share"].iloc[1] > 0.2 and f["date_share"].iloc[0] == 0
    assert f["page_chain_sim"].iloc[0] > f["page_chain_sim"].iloc[1]


def test_listing_labels_need_full_gold_and_no_body():
    roles = np.array(["title", "body", "teaser", "teaser", "non-body", "teaser"])
    partial = np.array([0, 0, 0, 0, 1, 1], dtype=bool)
    starts, page_of = np.array([0, 2, 4]), np.array([0, 0, 1, 1, 2, 2])
    assert listing_labels(roles, partial, starts, page_of).tolist() == [0, 1, 0]


def test_no_article_moves_article_roles_to_teaser_on_listing_pages_only():
    proba = np.array([[0.1, 0.7, 0.1, 0.05, 0.05, 0.0], [0.1, 0.7, 0.1, 0.05, 0.05, 0.0]])
    out = no_article(proba, np.array([True, False]))
    assert out[0, ROLES.index("teaser")] == 0.05 + 0.1 + 0.7 + 0.1
    assert out[0, [ROLES.index(r) for r in ("title", "body", "caption")]].sum() == 0
    np.testing.assert_array_equal(out[1], proba[1])
    np.testing.assert_allclose(out.sum(axis=1), proba.sum(axis=1))


def test_a_listing_page_gets_no_article():
    pages = [article(n) if n % 2 else listing(n) for n in range(24)]
    lines = lines_of(*(p for p, _ in pages))
    roles = np.concatenate([r for _, r in pages])
    model = LineRoleClassifier(max_iter=20, first_iter=10, role_iter=5, inner_folds=3).fit(lines, roles)
    assert model.page_ is not None
    test = lines_of(article(101)[0], listing(100)[0])
    predicted = model.predict(test)
    page = test["page"].to_numpy()
    assert "body" in set(predicted[page == 0])
    assert not {"body", "title"} & set(predicted[page == 1])
    # the page was judged a listing as a whole: no article probability is left on any line of it
    proba = model.predict_proba(test)
    article_roles = [ROLES.index(r) for r in ("title", "body", "caption")]
    assert (proba[page == 1][:, article_roles] == 0).all()
    assert (proba[page == 0][:, ROLES.index("body")] > 0).all()
