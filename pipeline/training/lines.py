"""Training and out-of-fold measurement of the line-role model (`make train`, `make eval`).

`train_line_model` fits `LineRoleClassifier` on every labelled page and saves it with a card that
records its out-of-fold scores; `out_of_fold_roles` + `score_roles` are the measurement behind
every number in docs/line-model.md.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from pipeline.learn.linefeatures import FEATURES
from pipeline.learn.linemodel import LineRoleClassifier
from pipeline.learn.store import frame_sha256, save_model
from pipeline.schema import ROLES
from pipeline.scoring.corpora import extraction_truth, is_extraction_corpus, load_gold_lines
from pipeline.scoring.metrics import extraction_f1, f1_counts, gold_body
from pipeline.training.linedata import labelled_lines


def kept_body(lines: pd.DataFrame, roles: np.ndarray) -> dict[str, str]:
    """articles.body of each page from predicted roles: body lines, exact repeats dropped.

    (The pipeline's repeats stage also drops near-repeats; exact ones are what matters here.)
    """
    frame = pd.DataFrame(
        {
            "doc_id": lines["doc_id"].astype(str).to_numpy(),
            "text": lines["text"].astype(str).to_numpy(),
            "body": np.asarray(roles) == "body",
        }
    )
    frame["norm"] = frame["text"].str.lower().str.split().str.join(" ")
    frame = frame[frame["body"] & ~frame.duplicated(["doc_id", "norm"])]
    return {doc: "\n\n".join(group["text"]) for doc, group in frame.groupby("doc_id", sort=False)}


def score_roles(sources: list[Path], lines: pd.DataFrame, roles: np.ndarray) -> dict[str, dict[str, float]]:
    """The referees' line-role metrics of predicted `roles` per source folder.

    Gold folders: body F1 / P / R (score_gold's gold body), role accuracy, teaser and boilerplate
    F1. Extraction folders: the benchmark's body F1 / P / R.
    """
    roles = np.asarray(roles, dtype=object)
    folder_of = lines["group"].astype(str).str.split("/").str[0].to_numpy()
    scores: dict[str, dict[str, float]] = {}
    for source in map(Path, sources):
        mask = folder_of == source.name
        part, predicted = lines[mask], roles[mask]
        bodies = kept_body(part, predicted)
        if is_extraction_corpus(source):
            truth = extraction_truth(source)
            result = extraction_f1([(body, bodies.get(doc, "")) for doc, body in truth.items()])
            scores[source.name] = {
                "body_f1": result["f1"],
                "body_p": result["precision"],
                "body_r": result["recall"],
            }
            continue
        gold = load_gold_lines(source)
        pairs = [(gold_body(page), bodies.get(doc, "")) for doc, page in gold.groupby("doc_id", sort=True)]
        result = extraction_f1(pairs)
        truth_roles = part["gold_role"].astype(str).to_numpy()
        out = {"body_f1": result["f1"], "body_p": result["precision"], "body_r": result["recall"]}
        out["role_acc"] = float(np.mean(truth_roles == predicted)) if len(part) else 0.0
        for name in ("teaser", "boilerplate"):
            g, p = truth_roles == name, predicted == name
            out[f"{name}_f1"] = f1_counts(int((g & p).sum()), int((p & ~g).sum()), int((g & ~p).sum()))[0]
        out["exact_pages"] = float(
            pd.Series(truth_roles == predicted).groupby(part["doc_id"].astype(str).to_numpy()).all().mean()
        )
        scores[source.name] = out
    return scores


def out_of_fold_roles(
    lines: pd.DataFrame, n_folds: int = 5, fold_seed: int | None = None, **params: Any
) -> np.ndarray:
    """Roles of every line predicted by a model trained without its group (page / same-story
    cluster), shape (n_lines,). `lines` as labelled_lines returns them.

    `fold_seed` None: sklearn's GroupKFold (groups balanced by size, always the same folds); an
    int: groups shuffled into folds with that seed. On 103 + 61 pages the fold split alone moves
    sea-dev body F1 by +-0.01 (0.917..0.938 for the same model): compare configurations on the
    same few seeds, paired, and over their mean.
    """
    roles = lines["gold_role"].astype(str).to_numpy()
    groups = lines["group"].astype(str).to_numpy()
    predicted = np.empty(len(lines), dtype=object)
    folds = GroupKFold(n_splits=n_folds, shuffle=fold_seed is not None, random_state=fold_seed)
    for train, test in folds.split(lines, groups=groups):
        model = LineRoleClassifier(**params).fit(lines.iloc[train], roles[train])
        predicted[test] = model.predict(lines.iloc[test])
    return predicted


# --- training the shipped model ------------------------------------------------------------


def train_line_model(sources: list[Path], out: Path, cv_folds: int = 5) -> dict[str, Any]:
    """Fit the line model on every page of `sources`, measure it out-of-fold, save it to `out`.

    Returns the model card written beside it (pipeline.learn.store.save_model).
    """
    started = time.perf_counter()
    sources = [Path(s) for s in sources]
    data = labelled_lines(sources)
    metrics = score_roles(sources, data, out_of_fold_roles(data, cv_folds)) if cv_folds else {}
    model = LineRoleClassifier().fit(data, data["gold_role"].to_numpy())
    card = {
        "kind": "lines",
        "estimator": repr(model),
        "roles": list(ROLES),
        "features": list(FEATURES),
        "training_data": {
            "sources": [s.name for s in sources],
            "sha256": frame_sha256(data, ["doc_id", "line_no", "text", "gold_role"]),
            "lines": len(data),
            "pages": int(data["doc_id"].nunique()),
            "roles": {k: int(v) for k, v in data["gold_role"].value_counts().sort_index().items()},
        },
        "cv": {"folds": cv_folds, "grouping": "page; same-story clusters together", "metrics": metrics},
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    return save_model(model, out, card)
