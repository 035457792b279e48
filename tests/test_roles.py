"""Line roles: markers and features, the shipped line model on the seeds, out-of-fold floors."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from pipeline import config
from pipeline.learn.linefeatures import FEATURES, line_features
from pipeline.learn.linemodel import NON_BODY, LineRoleClassifier
from pipeline.learn.store import load_model
from pipeline.learn.viterbi import viterbi
from pipeline.schema import ROLES
from pipeline.stages.read import Page, pages_frame
from pipeline.stages.roles import assign_roles
from pipeline.stages.segment import segment
from pipeline.text.markers import ANYWHERE_KINDS, MARKERS, MAX_MARKER_CHARS, match_markers, normalised
from pipeline.training.linedata import body_labels, labelled_lines
from pipeline.training.lines import out_of_fold_roles, score_roles

from .conftest import REPO, shared_path

PROSE = (
    "The police said on Monday that the two men had been arrested at the border while they were "
    "carrying the drugs in a truck."
)


def lines_of(*pages: str) -> pd.DataFrame:
    frame = pages_frame(
        [Page(doc_id=f"p{i}", text=t, source="test", encoding="utf-8") for i, t in enumerate(pages)]
    )
    return segment(frame)


# --- markers and features -------------------------------------------------------------------


def test_markers_are_matched_by_kind():
    text = pd.Series(["See more", "VNA", "Related News", "Anonymous said...", "By John Smith", PROSE])
    kinds, names = match_markers(text)
    assert names.tolist() == ["see-more", "agency", "related", "said", "byline", ""]
    assert kinds["marker_list-header"].tolist() == [1, 0, 1, 0, 0, 0]
    assert kinds.loc[5].sum() == 0  # running text is no marker


def test_normalised_collapses_spaces_as_one_regex_replace_would():
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = ["  See   MORE ", "a\tb", "a\r\n b", "a\u00a0 b", "a\vb", "", "plain words", None, " \f x  y\t"]
    values = pa.array(texts, type=pa.large_string())
    plain = pc.replace_substring_regex(pc.utf8_trim_whitespace(pc.utf8_lower(values)), r"\s+", " ")
    assert normalised(values).to_pylist() == plain.to_pylist()
    assert normalised(values).to_pylist()[:3] == ["see more", "a b", "a b"]


def test_markers_found_through_the_union_pass_are_those_of_each_pattern_alone():
    import re

    text = pd.Series(
        ["See more", "Photo: Reuters", "VNA", "Related News", "By John Smith", PROSE, "© 2024 Copyright", ""]
    )
    kinds, _ = match_markers(text)
    norm = normalised(text)
    for marker in MARKERS:
        alone = np.array([bool(re.search(marker.compiled, t)) for t in norm.to_pylist()])
        if marker.kind not in ANYWHERE_KINDS:
            alone &= np.array([len(t) <= MAX_MARKER_CHARS for t in norm.to_pylist()])
        assert not (alone & (kinds[f"marker_{marker.kind}"].to_numpy() == 0)).any(), marker.name


def test_long_line_mentioning_a_date_is_not_a_date_marker():
    text = pd.Series(["Updated: 9:43pm, 29 Jan, 2022", "28 March 2023 - " + PROSE])
    kinds, _ = match_markers(text)
    assert kinds["marker_date"].tolist() == [1, 0]


def test_features_are_per_page_and_see_the_list_header():
    lines = lines_of(f"Headline of the story\n{PROSE}\nSee more\nOther headline\nAnother headline", PROSE)
    features = line_features(lines)
    assert list(features.columns) == list(FEATURES) and len(features) == len(lines)
    assert features["prose"].tolist() == [0, 1, 0, 0, 0, 1]
    assert features["first"].tolist() == [1, 0, 0, 0, 0, 1]
    # lines since the list header; the second page has none (its first line is not "after" it)
    since = np.expm1(features["log_since_header"].to_numpy())
    assert since[2:4].round().tolist() == [0, 1] and since[5] > 10
    # neighbour features do not leak across pages
    assert features["prose@+1"].iloc[4] == -1 and features["prose@-1"].iloc[5] == -1


def test_features_do_not_depend_on_the_other_pages_of_the_chunk():
    page = f"Title here\n{PROSE}\nRelated\nA teaser headline"
    alone = line_features(lines_of(page))
    together = line_features(lines_of("x\n" + PROSE, page)).iloc[2:].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone, together)


def test_headline_glued_to_its_caption_contains_the_title():
    title = "Tay Ninh authorities bust drug trafficking ring"
    lines = lines_of(f"{title}\n{PROSE}\n{title} ảnh 1The seized methamphetamine (Photo: VNA)")
    features = line_features(lines)
    assert features["title_in_line"].tolist() == [1, 0, 1]
    assert features["marker_credit"].iloc[2] == 1


def test_body_labels_from_a_true_body():
    body = f"{PROSE}\n\nShort line here\n\n{PROSE.upper()}"
    texts = ["Menu", PROSE, "Short line here", PROSE, "Home", "Latest stories from our site today"]
    assert body_labels(texts, body) == [NON_BODY, "body", "body", "body", NON_BODY, NON_BODY]


# --- the model and the stage ----------------------------------------------------------------


@pytest.fixture(scope="module")
def toy_model():
    pages = [f"Headline number {i}\n{PROSE}\n{PROSE} {i}\nSee more\nOther story {i}\nVNA" for i in range(12)]
    lines = lines_of(*pages)
    roles = np.tile(["title", "body", "body", "boilerplate", "teaser", "boilerplate"], 12)
    return LineRoleClassifier(max_iter=20, context=True, inner_folds=3).fit(lines, roles), lines, roles


def test_classifier_predicts_one_known_role_per_line(toy_model):
    model, lines, roles = toy_model
    predicted = model.predict(lines)
    assert predicted.shape == (len(lines),) and set(predicted) <= set(ROLES)
    assert (predicted == roles).mean() > 0.9
    assert model.predict_proba(lines).shape == (len(lines), len(ROLES))


def test_predict_skips_the_role_model_only_where_body_wins(toy_model):
    model, lines, _ = toy_model
    assert (model.predict(lines) == model.classes_[np.argmax(model.predict_proba(lines), axis=1)]).all()


def test_out_of_fold_roles_with_a_fold_seed_is_deterministic_and_complete():
    pages = [f"Headline number {i}\n{PROSE}\nSee more\nOther story {i}" for i in range(9)]
    lines = lines_of(*pages).assign(gold_role=np.tile(["title", "body", "boilerplate", "teaser"], 9))
    lines["group"] = lines["doc_id"].astype(str)
    quick = {"context": False, "max_iter": 5, "role_iter": 5}
    first = out_of_fold_roles(lines, n_folds=3, fold_seed=1, **quick)
    assert set(first) <= set(ROLES)  # every line predicted by some fold
    assert (first == out_of_fold_roles(lines, n_folds=3, fold_seed=1, **quick)).all()


def test_viterbi_finds_the_best_path_of_every_page():
    rng = np.random.default_rng(0)
    k, lengths = 3, np.array([1, 4, 2, 5])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    emit, trans, start = rng.normal(size=(lengths.sum(), k)), rng.normal(size=(k, k)), rng.normal(size=k)

    def score(path, s):
        return start[path[0]] + sum(
            emit[s + i, q] + (trans[path[i - 1], q] if i else 0) for i, q in enumerate(path)
        )

    got = viterbi(emit, starts, starts + lengths, trans, start)
    for s, n in zip(starts, lengths, strict=True):
        best = max(itertools.product(range(k), repeat=int(n)), key=lambda path: score(path, s))
        assert tuple(got[s : s + n]) == best


def test_assign_roles_adds_string_columns_and_marker_reasons(toy_model):
    model, lines, _ = toy_model
    out = assign_roles(lines, model)
    assert str(out["role"].dtype) == "string" and str(out["reason"].dtype) == "string"
    assert out.loc[3, "reason"] == "marker:see-more" and out.loc[3, "role"] == "boilerplate"
    assert out["reason"].str.startswith(("model:", "marker:")).all()
    assert len(assign_roles(lines.iloc[:0], model)) == 0


def test_assign_roles_without_a_model_uses_rules():
    out = assign_roles(lines_of(f"Title\n{PROSE}\nSee more\nSomething else entirely here"))
    assert out["role"].tolist() == ["title", "body", "boilerplate", "teaser"]


def test_shipped_model_gets_the_seeds_exactly():
    """The seeds are in the shipped model's training data; it must reproduce them exactly."""
    model, card = load_model(config.default_line_model())
    assert card["kind"] == "lines"
    lines = labelled_lines([shared_path("seeds")])
    out = assign_roles(lines.drop(columns=["gold_role", "group"]), model)
    wrong = out.loc[out["role"] != lines["gold_role"], ["doc_id", "line_no", "role"]]
    assert wrong.empty, wrong.to_string()
    seed_001 = out[out["doc_id"].str.startswith("001_")].set_index("line_no")
    assert seed_001.loc[26, "reason"] == "marker:see-more"


# --- out-of-fold floors (data the fold's model never saw) -----------------------------------

FAST = {"context": False, "max_iter": 80, "learning_rate": 0.15}
"""A quick variant of the shipped model for the test's 3-fold grouped CV; the shipped model and
`make eval` use the full one (context pass), which scores higher."""


def test_out_of_fold_floors():
    sources = [shared_path("corpus", "sea-dev"), shared_path("seeds"), shared_path("corpus", "zyte-dev")]
    lines = labelled_lines(sources)
    scores = score_roles(sources, lines, out_of_fold_roles(lines, n_folds=3, **FAST))
    sea, zyte = scores["sea-dev"], scores["zyte-dev"]
    # measured with FAST (3 folds): sea-dev body F1 0.924, role accuracy 0.837, boilerplate F1
    # 0.848, teaser F1 0.491; zyte-dev body F1 0.897 (P 0.907, R 0.887)
    assert sea["body_f1"] >= 0.89, sea
    assert sea["role_acc"] >= 0.80, sea
    assert sea["boilerplate_f1"] >= 0.80, sea
    assert sea["teaser_f1"] >= 0.40, sea
    assert zyte["body_f1"] >= 0.86 and min(zyte["body_p"], zyte["body_r"]) >= 0.85, zyte


@pytest.mark.slow
def test_page_type_keeps_listing_pages_free_of_articles_out_of_fold():
    """The shipped configuration against the same model without its page-type decision, on the
    same 3 grouped folds over every labelled corpus: on the teaser-rich pages (half of them
    listing pages) the page type is what stops summaries from becoming an article."""
    sources = [
        shared_path("corpus", "sea-dev"),
        shared_path("seeds"),
        shared_path("corpus", "zyte-dev"),
        REPO / "data" / "labels" / "sea-extra",
    ]
    lines = labelled_lines(sources)
    shipped = score_roles(sources, lines, out_of_fold_roles(lines, n_folds=3))
    plain = score_roles(sources, lines, out_of_fold_roles(lines, n_folds=3, page_type=False))
    extra, sea, zyte = shipped["sea-extra"], shipped["sea-dev"], shipped["zyte-dev"]
    # measured (3 folds): sea-extra body F1 0.794 (P 0.727), without the page type 0.790 (P
    # 0.709); on 5 folds the gain is +0.03..+0.06 F1, +0.03..+0.09 P (two splits). The margin
    # asserted leaves room for another machine's floating point
    assert extra["body_p"] >= plain["sea-extra"]["body_p"] + 0.01, (extra, plain["sea-extra"])
    assert extra["body_f1"] >= 0.75 and extra["teaser_f1"] >= 0.80, extra
    assert sea["body_f1"] >= 0.88 and sea["role_acc"] >= 0.80, sea
    assert zyte["body_f1"] >= 0.87, zyte


def test_shipped_model_on_held_out_pages():
    """data/labels/sea-heldout: 48 pages of the kinds the model gets wrong that no model was
    trained on (summary-paragraph listings, headless articles, summary teasers)."""
    model, _ = load_model(config.default_line_model())
    sources = [REPO / "data" / "labels" / "sea-heldout"]
    lines = labelled_lines(sources)
    scores = score_roles(sources, lines, model.predict(lines.drop(columns=["gold_role", "group"])))
    held = scores["sea-heldout"]
    # measured: body F1 0.662 (P 0.533, R 0.874), teaser F1 0.673, role accuracy 0.701; the model
    # before the page type scored 0.597 (P 0.439), 0.488, 0.598 through the pipeline
    assert held["body_f1"] >= 0.63 and held["body_p"] >= 0.50, held
    assert held["teaser_f1"] >= 0.63 and held["role_acc"] >= 0.67, held
