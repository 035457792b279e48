"""Evaluation: the referees' metrics, out-of-fold (`make eval`) or for given models (`eval --gold`).

Cross-validation folds are grouped by page, and pages of one same-story cluster share a fold, so
no model ever sees a copy of the page it is scored on. Every fold trains both models (line roles
and topic) on the other folds, runs the pipeline's own stages on its held-out pages, and the
held-out outputs of all folds are written as ordinary run folders under OUT/<corpus>/: the
referee tools in ../shared/tools score exactly those folders, and must agree with these numbers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import config
from pipeline.learn.store import Models
from pipeline.run import process_chunk
from pipeline.scoring.corpora import (
    cv_groups,
    extraction_truth,
    gold_ids,
    is_extraction_corpus,
    load_clusters,
    load_gold_lines,
    truth_path,
)
from pipeline.scoring.metrics import extraction_f1, format_confusion, role_confusion, score_gold
from pipeline.sketch.storyindex import StoryIndex
from pipeline.stages.read import read_pages
from pipeline.stages.write import OutputWriter

N_FOLDS = 5
SEED = 0

BASELINES = {
    "zyte-dev body F1": {"whole text": 0.696, "trafilatura": 0.712, "jusText": 0.719},
}
"""Issue 3's plain-text baselines on zyte-dev, printed beside this project's numbers."""


@dataclass(frozen=True)
class Corpus:
    """A folder of pages with gold: line gold (kind "lines") or true bodies (kind "extraction")."""

    name: str
    path: Path
    kind: str

    @classmethod
    def at(cls, path: str | Path) -> Corpus:
        path = Path(path)
        kind = "extraction" if is_extraction_corpus(path) else "lines"
        if kind == "lines" and not gold_ids(path):
            raise FileNotFoundError(f"no gold pages (<id>.txt + <id>.json) in {path}")
        return cls(name=path.name, path=path, kind=kind)

    def pages(self) -> pd.DataFrame:
        pages, _ = read_pages([self.path])
        if self.kind == "lines":
            pages = pages[pages["doc_id"].isin(set(gold_ids(self.path)))]
        return pages.reset_index(drop=True)

    def groups(self, pages: pd.DataFrame) -> list[str]:
        """The CV group of each page: its same-story cluster, else the page itself."""
        return cv_groups(self.path, pages["doc_id"])

    def score(self, run_dir: Path) -> dict[str, float]:
        paragraphs = pd.read_parquet(run_dir / "paragraphs.parquet")
        articles = pd.read_parquet(run_dir / "articles.parquet")
        if self.kind == "extraction":
            truth = extraction_truth(self.path)
            bodies = dict(zip(articles["doc_id"], articles["body"].fillna(""), strict=True))
            return {
                "pages": len(truth),
                **extraction_f1([(body, bodies.get(doc, "")) for doc, body in truth.items()]),
            }
        gold = load_gold_lines(self.path)
        scores = score_gold(gold, load_clusters(self.path), paragraphs, articles)
        return scores | {"role_confusion": role_confusion(gold, paragraphs)}

    def referee(self, run_dir: Path) -> dict[str, float] | None:
        """The referee tool's numbers for `run_dir`, when the tools folder is present."""
        tools = config.shared_dir() / "tools"
        if self.kind == "extraction":
            command = [tools / "score_extraction.py", truth_path(self.path), run_dir, "--json"]
        else:
            command = [tools / "score_gold.py", self.path, run_dir, "--json"]
        if not command[0].exists():
            return None
        result = subprocess.run(
            [sys.executable, *map(str, command)], capture_output=True, text=True, check=True
        )
        return json.loads(result.stdout)


def write_run(out: Path, pages: pd.DataFrame, lines: pd.DataFrame, articles: pd.DataFrame) -> None:
    """Write held-out outputs as a run folder, with same-story links over the whole corpus."""
    order = {doc: i for i, doc in enumerate(pages["doc_id"])}
    articles = articles.sort_values("doc_id", key=lambda s: s.map(order), kind="stable").reset_index(
        drop=True
    )
    lines = lines.sort_values(
        ["doc_id", "line_no"], key=lambda s: s.map(order) if s.name == "doc_id" else s, kind="stable"
    )
    articles = StoryIndex().link(articles)
    with OutputWriter(out) as writer:
        writer.write(lines.reset_index(drop=True), articles)
        writer.commit({"pages": len(articles), "lines": len(lines), "evaluation": "out-of-fold"})


def fit_models(line_data: pd.DataFrame, topic_data: pd.DataFrame) -> Models:
    """Both models fitted on one fold's training part (the same code as the shipped models)."""
    from pipeline.learn.linemodel import LineRoleClassifier
    from pipeline.training.topic import fit_topic_model

    topic = fit_topic_model(topic_data)
    lines = LineRoleClassifier().fit(line_data, line_data["gold_role"].to_numpy())
    return Models(topic=topic, topic_card={"threshold": float(topic.threshold_)}, lines=lines)


def cross_validate(corpora: list[Corpus], out: Path, n_folds: int = N_FOLDS, log=print) -> dict[str, dict]:
    """Out-of-fold runs of every corpus into OUT/<corpus>/ and their scores."""
    from sklearn.model_selection import GroupKFold

    from pipeline.training.linedata import labelled_lines
    from pipeline.training.topic import load_training_data

    pages = {c.name: c.pages() for c in corpora}
    keys = [(c.name, doc) for c in corpora for doc in pages[c.name]["doc_id"]]
    groups = [g for c in corpora for g in c.groups(pages[c.name])]
    line_data = pd.concat(
        [labelled_lines([c.path]).assign(corpus=c.name) for c in corpora], ignore_index=True
    )
    topic_data = pd.concat(
        [load_training_data([c.path]).assign(corpus=c.name) for c in corpora if c.kind == "lines"],
        ignore_index=True,
    )
    held_lines: dict[str, list[pd.DataFrame]] = {c.name: [] for c in corpora}
    held_articles: dict[str, list[pd.DataFrame]] = {c.name: [] for c in corpora}
    for fold, (_, test) in enumerate(GroupKFold(n_splits=n_folds).split(keys, groups=groups)):
        held = {keys[i] for i in test}
        log(f"fold {fold + 1}/{n_folds}: {len(held)} held-out pages")
        models = fit_models(
            line_data[~_key_mask(line_data, held)],
            topic_data[~_key_mask(topic_data, held)],
        )
        for corpus in corpora:
            fold_pages = pages[corpus.name][[(corpus.name, d) in held for d in pages[corpus.name]["doc_id"]]]
            lines, articles, _ = process_chunk(fold_pages.reset_index(drop=True), models)
            held_lines[corpus.name].append(lines)
            held_articles[corpus.name].append(articles)
    scores = {}
    for corpus in corpora:
        run_dir = out / corpus.name
        write_run(
            run_dir,
            pages[corpus.name],
            pd.concat(held_lines[corpus.name]),
            pd.concat(held_articles[corpus.name]),
        )
        scores[corpus.name] = {
            "ours": corpus.score(run_dir),
            "referee": corpus.referee(run_dir),
            "run": str(run_dir),
        }
    return scores


def _key_mask(frame: pd.DataFrame, held: set[tuple[str, str]]) -> np.ndarray:
    return np.fromiter(
        ((c, d) in held for c, d in zip(frame["corpus"], frame["doc_id"], strict=True)), bool, len(frame)
    )


def score_models(corpora: list[Corpus], models: Models, out: Path) -> dict[str, dict]:
    """Run given models over each corpus into OUT/<corpus>/ and score them (no refitting)."""
    scores = {}
    for corpus in corpora:
        pages = corpus.pages()
        lines, articles, _ = process_chunk(pages, models)
        write_run(out / corpus.name, pages, lines, articles)
        scores[corpus.name] = {
            "ours": corpus.score(out / corpus.name),
            "referee": corpus.referee(out / corpus.name),
        }
    return scores


def agreement(scores: dict[str, dict]) -> list[str]:
    """Metrics where this project's numbers differ from the referee's (should be none)."""
    diffs = []
    for name, result in scores.items():
        for key, value in (result["referee"] or {}).items():
            ours = result["ours"].get(key)
            if isinstance(value, float) and not (
                ours == value or (np.isnan(ours) and np.isnan(value)) or abs(ours - value) < 1e-9
            ):
                diffs.append(f"{name}.{key}: ours {ours} referee {value}")
    return diffs


def print_report(scores: dict[str, dict], title: str) -> None:
    print(title)
    for name, result in scores.items():
        ours = result["ours"]
        print(
            f"\n[{name}] "
            + ("(referee agrees)" if result["referee"] and not agreement({name: result}) else "")
        )
        if "f1" in ours:
            base = BASELINES["zyte-dev body F1"]
            print(
                "  body F1 "
                + "  ".join(f"{k} {v:.3f}" for k, v in base.items())
                + f"  article-pipeline {ours['f1']:.3f}"
            )
            print(f"  precision {ours['precision']:.3f}  recall {ours['recall']:.3f}  pages {ours['pages']}")
            continue
        rows = [
            ("body F1", "body_f1"),
            ("body P", "body_p"),
            ("body R", "body_r"),
            ("role accuracy", "role_acc"),
            ("teaser F1", "teaser_f1"),
            ("boilerplate F1", "boiler_f1"),
            ("dup links P", "dup_p"),
            ("dup links R", "dup_r"),
            ("topic F1", "topic_f1"),
            ("topic ROC-AUC", "topic_auc"),
            ("same-story P", "doc_p"),
            ("same-story R", "doc_r"),
        ]
        for label, key in rows:
            print(f"  {label:16s} {ours[key]:.3f}")
        print("  roles (rows: gold, columns: predicted):")
        print("\n".join("    " + line for line in format_confusion(ours["role_confusion"])))
    diffs = agreement(scores)
    if diffs:
        print("\nWARNING: differs from the referee: " + "; ".join(diffs))


def topic_report(corpora: list[Corpus], out: Path) -> tuple[dict, np.ndarray, np.ndarray] | None:
    """Topic metrics over the gold content lines of the line-gold corpora scored in OUT/<corpus>/.

    Scored through the pipeline's output, as the referee does: a content line the pipeline calls
    boilerplate has topic null (not on) and its p_on still counts for ROC-AUC.
    """
    from pipeline.scoring.metrics import topic_metrics

    y_true, p_on, on = [], [], []
    for corpus in corpora:
        if corpus.kind != "lines":
            continue
        paragraphs = pd.read_parquet(out / corpus.name / "paragraphs.parquet").drop(columns="text")
        gold = load_gold_lines(corpus.path)
        joined = gold[gold["gold_topic"].notna()].merge(paragraphs, on=["doc_id", "line_no"], how="left")
        y_true.append((joined["gold_topic"] == "on").to_numpy(dtype=bool))
        p_on.append(joined["p_on"].astype(float).fillna(0.0).to_numpy())
        on.append((joined["topic"] == "on").to_numpy(dtype=bool, na_value=False))
    if not y_true:
        return None
    y, p = np.concatenate(y_true), np.concatenate(p_on)
    return topic_metrics(y, p, on=np.concatenate(on)), y, p


def evaluate(
    gold_dirs: list[str | Path],
    out: str | Path,
    models: Models | None = None,
    n_folds: int = N_FOLDS,
    pr_curve: Path | None = None,
) -> dict:
    """Score `models` on gold folders, or (models None) cross-validate both models over them.

    Prints the report, writes OUT/eval.json and, when `pr_curve` is given, the topic model's
    precision-recall curve there. Returns the scores.
    """
    from pipeline.evaluation.topicreport import format_metrics, write_pr_curve

    out = Path(out)
    corpora = [Corpus.at(d) for d in gold_dirs]
    if models is None:
        scores = cross_validate(corpora, out, n_folds, log=lambda m: print(m, file=sys.stderr))
        title = f"out-of-fold ({n_folds} folds grouped by page and same-story cluster)"
    else:
        scores = score_models(corpora, models, out)
        title = "given models (no refitting)"
    print_report(scores, title)
    result: dict = {
        "mode": title,
        "corpora": {k: {"ours": v["ours"], "referee": v["referee"]} for k, v in scores.items()},
    }
    topic = topic_report(corpora, out)
    if topic is not None:
        metrics, y, p = topic
        print("\n" + "\n".join(format_metrics(metrics)))
        result["topic"] = metrics
        if pr_curve is not None:
            threshold = models.topic_card.get("threshold") if models is not None else None
            print(f"precision-recall curve: {write_pr_curve(y, p, pr_curve, threshold=threshold)}")
    (out / "eval.json").write_text(json.dumps(result, indent=2, sort_keys=True, default=float) + "\n")
    from pipeline.evaluation.report import write_eval_report

    print(f"eval report: {write_eval_report(out, corpora, result)}")
    print(f"\nrun folders and eval.json in {out}")
    return result
