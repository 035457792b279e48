"""Persist models with joblib beside a JSON model card, and load them safely.

The card (``NAME.json`` beside ``NAME.joblib``) records the file's sha256 and the library versions
it was pickled with. Loading checks both *before* unpickling: a modified file or a model from an
incompatible scikit-learn is refused with a one-line `ModelError`, never unpickled.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import platform
import sys
import tempfile
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from pipeline import config
from pipeline.errors import ModelError
from pipeline.files import atomic_write_bytes

PINNED = ("scikit-learn", "numpy", "scipy", "joblib")
"""Libraries whose exact version a pickled model depends on."""


def card_path(model_path: Path) -> Path:
    return Path(model_path).with_suffix(".json")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def frame_sha256(frame: pd.DataFrame, columns: list[str]) -> str:
    """Hash of a training table's `columns`, row by row (a model card's record of its data)."""
    digest = hashlib.sha256()
    for row in zip(*(frame[c] for c in columns), strict=True):
        digest.update(("\x1f".join(map(str, row)) + "\x1e").encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    versions = {name: metadata.version(name) for name in (*PINNED, "datasketch", "pandas")}
    versions["python"] = platform.python_version()
    return versions


def save_model(model: Any, path: str | Path, card: dict[str, Any]) -> dict[str, Any]:
    """Dump `model` to `path` and its card beside it; returns the card as written.

    The pickle is written first, then the card naming its sha256: a crash in between leaves a
    card that refuses the new file rather than a card that vouches for a wrong one.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent if path.parent.exists() else None, suffix=".joblib")
    os.close(fd)
    try:
        joblib.dump(model, tmp, compress=3)
        data = Path(tmp).read_bytes()
    finally:
        Path(tmp).unlink(missing_ok=True)
    full_card = {
        **card,
        "file": path.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "versions": library_versions(),
    }
    atomic_write_bytes(path, data)
    atomic_write_bytes(card_path(path), (json.dumps(full_card, indent=2, sort_keys=True) + "\n").encode())
    return full_card


def read_card(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model not found: {path} (train one with `make train`)")
    try:
        return json.loads(card_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ModelError(f"model card {card_path(path)} missing or unreadable: {err}") from None


def load_model(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """Load a model saved by `save_model`, refusing a modified file or incompatible libraries.

    Returns
    -------
    (model, card)
    """
    path = Path(path)
    card = read_card(path)
    actual = sha256_of(path)
    if actual != card.get("sha256"):
        raise ModelError(f"{path}: sha256 {actual[:12]}… does not match its card; refusing to unpickle")
    installed = library_versions()
    for name in PINNED:
        wanted = card.get("versions", {}).get(name)
        if wanted != installed[name]:
            raise ModelError(
                f"{path} was saved with {name} {wanted}, this environment has {installed[name]}: "
                "retrain it with `make train` (or `article-pipeline train`)"
            )
    with legacy_module_names():
        return joblib.load(path), card


LEGACY_NAMES = {
    "pipeline.linemodel": {
        "LineRoleClassifier": "pipeline.learn.linemodel.LineRoleClassifier",
        "LinearScorer": "pipeline.learn.linemodel.LinearScorer",
    },
    "pipeline.topic": {
        "TopicClassifier": "pipeline.learn.topicmodel.TopicClassifier",
        "LineFeatures": "pipeline.learn.topicfeatures.TopicFeatures",
        "StableTfidfVectorizer": "pipeline.learn.topicfeatures.StableTfidfVectorizer",
    },
}
"""Where the classes named by models pickled before the package was split into folders live now:
a pickle names a class by module path, and retraining only to rename one would change the model."""


@contextmanager
def legacy_module_names() -> Iterator[None]:
    """While unpickling, the old flat module paths resolve to the classes' new homes."""
    installed = []
    for old, names in LEGACY_NAMES.items():
        if old in sys.modules:
            continue
        shim = types.ModuleType(old)
        for name, target in names.items():
            module, _, attribute = target.rpartition(".")
            setattr(shim, name, getattr(importlib.import_module(module), attribute))
        sys.modules[old] = shim
        installed.append(old)
    try:
        yield
    finally:
        for old in installed:
            del sys.modules[old]


@dataclass(frozen=True)
class Models:
    """The fitted models a run applies, with their cards (which say what they are)."""

    topic: Any
    topic_card: dict[str, Any]
    lines: Any = None
    lines_card: dict[str, Any] = field(default_factory=dict)


def load_models(topic_path: str | Path | None = None, lines_path: str | Path | None = None) -> Models:
    """Load the topic model (default models/topic.joblib) and the line-role model if shipped."""
    topic, topic_card = load_model(topic_path or config.default_topic_model())
    lines_path = Path(lines_path or config.default_line_model())
    lines, lines_card = load_model(lines_path) if lines_path.exists() else (None, {})
    return Models(topic=topic, topic_card=topic_card, lines=lines, lines_card=lines_card)
