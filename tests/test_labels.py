"""The project's own labelled pages: the check script passes and catches what it must."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from .conftest import REPO, shared_path

SCRIPT = REPO / "data" / "labels" / "labels.py"


def run_check(*folders) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "check", *map(str, folders)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_every_labelled_set_passes_the_check():
    shared_path("corpus", "used-urls.txt")
    result = run_check()
    assert result.returncode == 0, result.stderr
    assert "0 problems" in result.stdout


def test_check_catches_a_changed_text_a_bad_label_and_a_used_url(tmp_path):
    used = shared_path("corpus", "used-urls.txt").read_text(encoding="utf-8").split()[0]
    source = REPO / "data" / "labels" / "sea-extra"
    for stem in ("x1_001", "x3_001", "x4_001"):
        for suffix in (".txt", ".json"):
            shutil.copy(source / f"{stem}{suffix}", tmp_path / f"{stem}{suffix}")
    assert run_check(tmp_path).returncode == 0
    (tmp_path / "x1_001.txt").write_text("changed\n" + (tmp_path / "x1_001.txt").read_text("utf-8"), "utf-8")
    doc = json.loads((tmp_path / "x3_001.json").read_text("utf-8"))
    doc["lines"][0]["role"] = "headline"
    doc["lines"][1]["dup_of"] = doc["lines"][1]["n"]
    (tmp_path / "x3_001.json").write_text(json.dumps(doc), "utf-8")
    doc = json.loads((tmp_path / "x4_001.json").read_text("utf-8"))
    (tmp_path / "x4_001.json").write_text(json.dumps({**doc, "url": used}), "utf-8")
    result = run_check(tmp_path)
    assert result.returncode == 1
    assert "x1_001.json: lines do not match" in result.stderr
    assert "role 'headline'" in result.stderr and "is not an earlier labelled line" in result.stderr
    assert "x4_001.json: url is in used-urls.txt" in result.stderr
