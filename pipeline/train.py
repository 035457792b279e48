"""Training data and training of the topic model.

Data: gold folders (content lines: every line whose gold topic is not null) or a table file
(CSV / JSONL / Parquet with `text` and `label`, label on/off, 1/0 or true/false).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from .gold import gold_ids, load_gold_lines
from .modelstore import save_model
from .topic import TopicClassifier

LABELS_ON = {"on", "1", "true", "yes"}
LABELS_OFF = {"off", "0", "false", "no"}


def load_training_data(sources: list[str | Path]) -> pd.DataFrame:
    """Labelled texts from gold folders or table files.

    Returns
    -------
    DataFrame, shape (n, 3): text, label (1 = on), group (the page, for grouped CV).
    """
    frames = []
    for source in map(Path, sources):
        if source.is_dir() and gold_ids(source):
            gold = load_gold_lines(source)
            gold = gold[gold["gold_topic"].notna()]
            frames.append(
                pd.DataFrame(
                    {
                        "text": gold["text"].astype(str),
                        "label": (gold["gold_topic"] == "on").astype(int),
                        "group": source.name + "/" + gold["doc_id"].astype(str),
                    }
                )
            )
        else:
            frames.append(read_label_table(source))
    data = pd.concat(frames, ignore_index=True)
    return data.reset_index(drop=True)


def read_label_table(path: Path) -> pd.DataFrame:
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
    return pd.DataFrame(
        {
            "text": table["text"].astype(str),
            "label": labels.isin(LABELS_ON).astype(int),
            "group": path.name + "/" + group,
        }
    )


def data_hash(data: pd.DataFrame) -> str:
    digest = hashlib.sha256()
    for text, label in zip(data["text"], data["label"], strict=True):
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()


def train_topic_model(sources: list[str | Path], out: str | Path) -> dict:
    """Fit the topic model on `sources`, save it to `out` with its card; returns the card."""
    data = load_training_data(sources)
    model = TopicClassifier().fit(data["text"], data["label"].to_numpy())
    card = {
        "kind": "topic",
        "training_data": {
            "sources": [str(s) for s in sources],
            "sha256": data_hash(data),
            "lines": len(data),
            "on": int(np.sum(data["label"])),
        },
        "threshold": float(model.threshold_),
    }
    return save_model(model, out, card)
