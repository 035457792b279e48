"""`article-pipeline eval`: referee metrics, topic report and PR curve for given models."""

from __future__ import annotations

import json
import shutil

from pipeline import cli, config

from .conftest import shared_path


def test_eval_scores_given_models_and_writes_pr_curve(tmp_path, capsys):
    seeds = shared_path("seeds")
    for suffix in (".joblib", ".json"):
        shutil.copy(config.default_topic_model().with_suffix(suffix), tmp_path / f"topic{suffix}")
    code = cli.main(
        [
            "eval",
            "--gold",
            str(seeds),
            "--model",
            str(tmp_path / "topic.joblib"),
            "--out",
            str(tmp_path / "e"),
        ]
    )
    printed = capsys.readouterr().out
    assert code == cli.EXIT_OK
    assert "(referee agrees)" in printed and "ROC-AUC" in printed and "gold on" in printed
    assert (tmp_path / "topic.pr.png").read_bytes().startswith(b"\x89PNG")
    result = json.loads((tmp_path / "e" / "eval.json").read_text())
    seeds_scores = result["corpora"]["seeds"]
    assert seeds_scores["ours"]["role_acc"] == seeds_scores["referee"]["role_acc"]
    assert result["topic"]["confusion"]["tp"] + result["topic"]["confusion"]["fn"] == result["topic"]["n_on"]
