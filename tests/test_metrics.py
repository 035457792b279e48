"""This project's metrics agree with the referee tools on the same run folders."""

from __future__ import annotations

import pytest

from pipeline.evaluation.evaluate import Corpus, agreement, score_models
from pipeline.schema import ROLES

from .conftest import shared_path


@pytest.mark.parametrize("corpus", ["seeds", "corpus/sea-dev", "corpus/zyte-dev"])
def test_metrics_agree_with_referee(corpus, models, tmp_path):
    shared_path("tools", "score_gold.py")
    scores = score_models([Corpus.at(shared_path(*corpus.split("/")))], models, tmp_path)
    (result,) = scores.values()
    assert result["referee"] is not None
    assert agreement(scores) == []
    assert set(result["referee"]) <= set(result["ours"])


def test_role_confusion_counts_every_gold_line_and_its_diagonal_is_role_accuracy(models, tmp_path):
    scores = score_models([Corpus.at(shared_path("corpus", "sea-dev"))], models, tmp_path)
    ours = scores["sea-dev"]["ours"]
    confusion = ours["role_confusion"]
    assert list(confusion) == list(ROLES) and all(
        list(row)[: len(ROLES)] == list(ROLES) for row in confusion.values()
    )
    assert sum(sum(row.values()) for row in confusion.values()) == ours["lines"]
    assert sum(confusion[r][r] for r in ROLES) / ours["lines"] == pytest.approx(ours["role_acc"])
    teaser_p = confusion["teaser"]["teaser"] / sum(row["teaser"] for row in confusion.values())
    teaser_r = confusion["teaser"]["teaser"] / sum(confusion["teaser"].values())
    assert 2 * teaser_p * teaser_r / (teaser_p + teaser_r) == pytest.approx(ours["teaser_f1"])
