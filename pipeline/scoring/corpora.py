"""The labelled corpora, in their two kinds of folder, read in one place.

- a line-gold folder (seeds, sea-dev, data/labels/*): ``<id>.txt`` + ``<id>.json`` with the role,
  topic and repeat of every line, and clusters.json (pages that are the same story);
- an extraction folder (zyte-dev): ``<id>.txt`` + ``ground-truth.json`` holding each page's true
  article body only (`is_extraction_corpus` tells the two apart).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

GOLD_COLUMNS = ("doc_id", "line_no", "text", "gold_role", "gold_topic", "gold_dup_of")


def gold_ids(gold_dir: str | Path) -> list[str]:
    """Ids of the pages of a gold folder that have both their .txt and .json, sorted."""
    gold_dir = Path(gold_dir)
    return sorted(
        p.stem
        for p in gold_dir.glob("*.json")
        if p.name != "clusters.json" and p.with_suffix(".txt").exists()
    )


def load_gold_lines(gold_dir: str | Path) -> pd.DataFrame:
    """Every gold line of `gold_dir`.

    Returns
    -------
    DataFrame, shape (n_lines, 6), columns GOLD_COLUMNS; gold_topic is "on" / "off" / <NA>,
    gold_dup_of a nullable int.
    """
    rows = []
    for doc_id in gold_ids(gold_dir):
        record = json.loads((Path(gold_dir) / f"{doc_id}.json").read_text(encoding="utf-8"))
        for line in record["lines"]:
            rows.append((doc_id, line["n"], line["text"], line["role"], line["topic"], line["dup_of"]))
    frame = pd.DataFrame(rows, columns=list(GOLD_COLUMNS))
    return frame.astype(
        {
            "doc_id": "string",
            "line_no": "int32",
            "text": "string",
            "gold_role": "string",
            "gold_topic": "string",
            "gold_dup_of": "Int32",
        }
    )


def cv_groups(gold_dir: str | Path, doc_ids) -> list[str]:
    """The cross-validation group of each page: ``<folder>/cluster<i>`` for the pages of a
    same-story cluster (so no fold sees a copy of a page it is scored on), else ``<folder>/<doc_id>``."""
    name = Path(gold_dir).name
    clusters = load_clusters(gold_dir)
    cluster_of = {doc: f"{name}/cluster{i}" for i, group in enumerate(clusters) for doc in group}
    return [cluster_of.get(doc, f"{name}/{doc}") for doc in doc_ids]


def load_clusters(gold_dir: str | Path) -> list[set[str]]:
    """Same-story groups of `gold_dir` (pages present in the folder only, groups of 2+)."""
    path = Path(gold_dir) / "clusters.json"
    if not path.exists():
        return []
    ids = set(gold_ids(gold_dir))
    groups = [set(c["ids"]) & ids for c in json.loads(path.read_text(encoding="utf-8"))]
    return [g for g in groups if len(g) > 1]


TRUTH_FILE = "ground-truth.json"


def is_extraction_corpus(folder: str | Path) -> bool:
    """Whether `folder` is an extraction corpus (true article bodies) rather than line gold."""
    return (Path(folder) / TRUTH_FILE).exists()


def truth_path(folder: str | Path) -> Path:
    return Path(folder) / TRUTH_FILE


def extraction_truth(folder: str | Path) -> dict[str, str]:
    """The true article body of every page of an extraction corpus, by doc_id (file order)."""
    truth = json.loads(truth_path(folder).read_text(encoding="utf-8"))
    return {doc_id: record["articleBody"] for doc_id, record in truth.items()}
