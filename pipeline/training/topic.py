"""Training data and training of the topic model.

Data: gold folders (content lines: every line whose gold topic is not null, each with its context
on the page) or a table file (CSV / JSONL / Parquet with `text` and `label`, label on/off, 1/0 or
true/false, optional `group`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.learn.store import frame_sha256, save_model
from pipeline.learn.topicfeatures import line_context
from pipeline.learn.topicmodel import TopicClassifier
from pipeline.scoring.corpora import cv_groups, gold_ids, load_gold_lines

LABELS_ON = {"on", "1", "true", "yes"}
LABELS_OFF = {"off", "0", "false", "no"}

TRAINING_COLUMNS = ("doc_id", "text", "label", "group", "role", "near", "page_text", "page_key", "pos")


def load_training_data(sources: list[str | Path]) -> pd.DataFrame:
    """Labelled lines from gold folders or table files.

    Returns
    -------
    DataFrame, shape (n, 9), columns TRAINING_COLUMNS: label 1 = on; group the page, or its
    same-story cluster (for grouped CV); role, near, page_text, page_key, pos the line's context
    on its page (see topic.line_context; none for table files, which have no pages).
    """
    frames = [
        load_gold_folder(source) if source.is_dir() and gold_ids(source) else read_label_table(source)
        for source in map(Path, sources)
    ]
    data = pd.concat(frames, ignore_index=True)
    # one key per page across sources (two folders may both have a page "001")
    data["page_key"] = pd.factorize(data["group"] + "\t" + data["doc_id"])[0]
    return data[list(TRAINING_COLUMNS)]


def load_gold_folder(folder: Path) -> pd.DataFrame:
    """Content lines of a gold folder with their context (built with the gold roles)."""
    gold = load_gold_lines(folder)
    lines = pd.DataFrame(
        {
            "doc_id": gold["doc_id"].astype(str),
            "text": gold["text"].astype(str),
            "role": gold["gold_role"].astype(str),
            "pos": gold.groupby("doc_id", sort=False).cumcount().to_numpy(),
        }
    )
    context = line_context(lines)
    frame = pd.DataFrame(
        {
            "doc_id": lines["doc_id"],
            "text": context["text"],
            "label": (gold["gold_topic"] == "on").to_numpy(dtype=bool, na_value=False).astype(int),
            "group": cv_groups(folder, lines["doc_id"]),
            "role": context["role"],
            "near": context["near"],
            "page_text": context["page_text"],
            "pos": context["pos"],
        }
    )
    return frame[gold["gold_topic"].notna().to_numpy(dtype=bool)].reset_index(drop=True)


def read_label_table(path: Path) -> pd.DataFrame:
    """A user's own labels: `text`, `label` and optional `group` columns."""
    name = path.name.lower()
    if name.endswith(".csv"):
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    elif name.endswith((".jsonl", ".jsonl.gz")):
        table = pd.read_json(path, lines=True, dtype=False)
    elif name.endswith(".parquet"):
        table = pd.read_parquet(path)
    else:
        raise ValueError(f"{path}: training data must be a gold folder, .csv, .jsonl or .parquet")
    if not {"text", "label"} <= set(table.columns):
        raise ValueError(f"{path}: needs columns text and label")
    labels = table["label"].astype(str).str.strip().str.lower()
    unknown = sorted(set(labels) - LABELS_ON - LABELS_OFF)
    if unknown:
        raise ValueError(f"{path}: unknown labels {unknown[:5]} (use on/off or 1/0)")
    group = table["group"].astype(str) if "group" in table else pd.Series(range(len(table))).astype(str)
    n = len(table)
    return pd.DataFrame(
        {
            "doc_id": (path.name + "/" + group).to_numpy(),
            "text": table["text"].astype(str).to_numpy(),
            "label": labels.isin(LABELS_ON).astype(int).to_numpy(),
            "group": (path.name + "/" + group).to_numpy(),
            "role": np.full(n, "body", dtype=object),
            "near": np.full(n, "", dtype=object),
            "page_text": np.full(n, "", dtype=object),
            "pos": np.zeros(n, dtype=np.int64),
        }
    )


def data_hash(data: pd.DataFrame) -> str:
    """Hash of the topic training data: every line's label and text, in order."""
    return frame_sha256(data, ["label", "text"])


# --------------------------------------------------------------------------------------------
# Fitting, cross-validation, model card

TOPIC_PARAMS: dict = {
    "C": 4.0,
    "word_ngrams": (1, 1),
    "char_ngrams": None,
    "near_weight": 0.0,
    "page_weight": 0.5,
    "page_prior": True,
    "prior_C": 1.0,
}
"""The shipped configuration, chosen by outer grouped 5-fold CV over sea-dev + seeds content
lines (1,005 lines, 105 pages), mean of three splits (unshuffled + 2 shuffled); every model's
threshold chosen on its own training folds. F1 / ROC-AUC / Brier, prediction speed:

=========================================================  =====  =====  =====  ==========
configuration                                              F1     AUC    Brier  lines/s
=========================================================  =====  =====  =====  ==========
word 1-2 TF-IDF + LR (C 4, balanced), line only            0.882  0.960  0.109
+ neighbours block (0.5)                                   0.922  0.978  0.089
+ role one-hot                                             0.877  0.955  0.111  (no help)
+ page-article block (0.5)                                 0.940  0.987  0.074
+ page block 1.0 / 1.5                                     0.930  0.983  0.065  (0.5 best)
page block 0.5 + neighbours 0.5 + role                     0.929  0.982  0.073
page block + char_wb 2-5                                   0.945  0.988  0.055  ~6,000
page block + char_wb 3-5 (C 8) / 2-4                       0.939  0.989  0.052
page block 1.0, C 16 / C 1                                 0.926  0.981  0.055  (C 4 kept)
word 1-2 + page prior (stacked, step 2)                    0.946  0.985  0.042
word 1-1 + page prior                                      0.946  0.985  0.041
word 1-2 + page block 0.5 + page prior                     0.947  0.988  0.039
  ... with prior C 0.2 / 10, or step-1 C 16                0.946  0.988  0.039  (defaults kept)
+ char_wb 2-5 + page prior                                 0.944  0.988  0.038  (no gain)
**word 1-1 + page block 0.5 + page prior (shipped)**       0.951  0.988  0.038  ~64,000
=========================================================  =====  =====  =====  ==========

Choosing among these ~15 configurations on the same outer folds leaves a small optimistic bias
(the spread between splits is about +-0.005 F1). Page context is computed from gold roles in
training and from predicted roles at run time; `make eval` measures the latter."""

CV_FOLDS = 5
CV_REPEATS = (None, 1, 2)
"""Outer folds of the card's metrics: GroupKFold unshuffled (as `make eval`), then two shuffled
repeats; each repeat's numbers are kept, and their mean is the headline."""


def fit_topic_model(data: pd.DataFrame, **params) -> TopicClassifier:
    """A TopicClassifier (TOPIC_PARAMS, overridden by `params`) fitted on training data
    (columns TRAINING_COLUMNS, possibly concatenated from several `load_training_data` calls;
    extra columns are ignored)."""
    # page keys afresh: frames loaded separately and concatenated may reuse each other's keys
    data = data.reset_index(drop=True).assign(
        page_key=lambda d: pd.factorize(d["group"] + "\t" + d["doc_id"])[0]
    )
    model = TopicClassifier(**{**TOPIC_PARAMS, **params})
    return model.fit(data, data["label"].to_numpy(), groups=data["group"].to_numpy())


def cross_validate_topic(
    data: pd.DataFrame, n_folds: int = CV_FOLDS, repeats: tuple = CV_REPEATS, **params
) -> tuple[dict, np.ndarray]:
    """Grouped cross-validated metrics of the topic model on `data` (rows TRAINING_COLUMNS).

    Each outer fold's model is fitted, threshold included, on the other folds only (its
    threshold comes from its own inner folds). Folds are grouped by `group` (page or same-story
    cluster).

    Returns
    -------
    (metrics, p_on): metrics {"folds", "repeats": [per repeat metrics], "mean": {...}} where a
    repeat's metrics are topicreport.topic_metrics of its pooled out-of-fold predictions;
    p_on array (n,) out-of-fold p_on of the first repeat.
    """
    from sklearn.model_selection import GroupKFold

    from pipeline.scoring.metrics import topic_metrics

    data = data.reset_index(drop=True)
    y, groups = data["label"].to_numpy(), data["group"].to_numpy()
    runs, first = [], None
    for seed in repeats:
        cv = GroupKFold(n_folds) if seed is None else GroupKFold(n_folds, shuffle=True, random_state=seed)
        p_on, on = np.zeros(len(y)), np.zeros(len(y), dtype=bool)
        for train, test in cv.split(data, y, groups):
            model = fit_topic_model(data.iloc[train], **params)
            p_on[test] = model.predict_proba(data.iloc[test])[:, 1]
            on[test] = p_on[test] >= model.threshold_
        runs.append(
            {"split": "unshuffled" if seed is None else f"shuffled seed {seed}"} | topic_metrics(y, p_on, on)
        )
        first = p_on if first is None else first
    keys = ("precision", "recall", "f1", "roc_auc", "brier")
    mean = {k: float(np.mean([r[k] for r in runs])) for k in keys}
    return {
        "folds": n_folds,
        "grouped_by": "page, or same-story cluster",
        "repeats": runs,
        "mean": mean,
    }, first


def label_noise_suspects(data: pd.DataFrame, p_on: np.ndarray, margin: float = 0.85) -> pd.DataFrame:
    """Gold labels that out-of-fold predictions contradict confidently: a list to review, never
    to flip silently.

    Parameters
    ----------
    data : DataFrame (n rows, TRAINING_COLUMNS)
    p_on : array (n,), out-of-fold p_on (from `cross_validate_topic`)
    margin : float
        Suspect when |p_on - label| >= margin.

    Returns
    -------
    DataFrame: doc_id, role, label, p_on, text of the suspects, most confident first.
    """
    gap = np.abs(p_on - data["label"].to_numpy())
    suspects = data.assign(p_on=p_on, gap=gap)[gap >= margin]
    return suspects.sort_values("gap", ascending=False, kind="stable")[
        ["doc_id", "role", "label", "p_on", "text"]
    ]


def train_topic_model(sources: list[str | Path], out: str | Path, cross_validate: bool = True) -> dict:
    """Fit the topic model on `sources`, save it to `out` with its card; returns the card.

    The card records the sources by name (not path: it is the same on every machine), the data's
    sha256, the configuration, the grouped cross-validated metrics and the threshold and how it
    was chosen; `save_model` adds the file's sha256 and the library versions.
    """
    data = load_training_data(sources)
    card: dict = {
        "kind": "topic",
        "training_data": {
            "sources": [Path(s).name for s in sources],
            "sha256": data_hash(data),
            "lines": len(data),
            "on": int(data["label"].sum()),
            "pages": int(data["page_key"].nunique()),
        },
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in TOPIC_PARAMS.items()},
    }
    if cross_validate:
        card["cross_validation"], _ = cross_validate_topic(data)
    model = fit_topic_model(data)
    card["threshold"] = float(model.threshold_)
    card["threshold_how"] = model.threshold_how_
    return save_model(model, out, card)
