"""The topic metrics printed, and the precision-recall curve drawn, by `article-pipeline eval`
(the metrics themselves: `pipeline.scoring.metrics.topic_metrics`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def format_metrics(metrics: dict) -> list[str]:
    """Printable lines: the scores, then the confusion matrix (rows: gold, columns: predicted)."""
    c = metrics["confusion"]
    threshold = f"  threshold {metrics['threshold']:.3f}" if "threshold" in metrics else ""
    return [
        f"topic  precision {metrics['precision']:.3f}  recall {metrics['recall']:.3f}  "
        f"F1 {metrics['f1']:.3f}  ROC-AUC {metrics['roc_auc']:.3f}  Brier {metrics['brier']:.3f}"
        f"  ({metrics['n']} lines, {metrics['n_on']} on){threshold}",
        "              predicted off  predicted on",
        f"  gold off    {c['tn']:>13d}  {c['fp']:>12d}",
        f"  gold on     {c['fn']:>13d}  {c['tp']:>12d}",
    ]


def write_pr_curve(y_true, p_on, path: str | Path, threshold: float | None = None, title: str = "") -> Path:
    """Write the precision-recall curve of p_on as a PNG at `path` (the threshold's point
    marked); returns the path."""
    import matplotlib

    matplotlib.use("Agg")  # no display: this runs in terminals and CI
    import matplotlib.pyplot as plt
    from sklearn.metrics import average_precision_score, precision_recall_curve

    y = np.asarray(y_true).astype(int)
    p = np.nan_to_num(np.asarray(p_on, dtype=float), nan=0.0)
    precision, recall, thresholds = precision_recall_curve(y, p)
    fig, ax = plt.subplots(figsize=(5, 4.5), dpi=100)
    ax.plot(recall, precision, drawstyle="steps-post", label=f"AP {average_precision_score(y, p):.3f}")
    if threshold is not None and len(thresholds):
        i = min(int(np.searchsorted(thresholds, threshold)), len(thresholds) - 1)
        ax.plot(recall[i], precision[i], "o", label=f"threshold {threshold:.3f}")
    ax.set(xlabel="recall (on)", ylabel="precision (on)", xlim=(0, 1.02), ylim=(0, 1.02))
    ax.set_title(title or "topic: precision-recall")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None})  # no version stamp: same curve, same bytes
    plt.close(fig)
    return path
