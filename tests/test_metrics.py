"""This project's metrics agree with the referee tools on the same run folders."""

from __future__ import annotations

import pytest

from pipeline.evaluation.evaluate import Corpus, agreement, score_models

from .conftest import shared_path


@pytest.mark.parametrize("corpus", ["seeds", "corpus/sea-dev", "corpus/zyte-dev"])
def test_metrics_agree_with_referee(corpus, models, tmp_path):
    shared_path("tools", "score_gold.py")
    scores = score_models([Corpus.at(shared_path(*corpus.split("/")))], models, tmp_path)
    (result,) = scores.values()
    assert result["referee"] is not None
    assert agreement(scores) == []
    assert set(result["referee"]) <= set(result["ours"])
