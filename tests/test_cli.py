"""The command line on bad input and failures: exit codes, one-line errors, OUT left untouched."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipeline import cli, config
from pipeline.errors import InputError
from pipeline.stages.write import LOCK_NAME, stored_versions, versions_dir

SEEDS = config.REPO_ROOT / "seeds"


def make_batch(folder: Path, n_pages: int) -> Path:
    """`n_pages` realistic pages (the repository's seed pages, each made distinct) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    seeds = sorted(SEEDS.glob("*.txt"))
    for i in range(n_pages):
        text = seeds[i % len(seeds)].read_text(encoding="utf-8")
        (folder / f"page{i:05d}.txt").write_text(f"{text}\nPage {i} ends here with its own words.\n")
    return folder


def snapshot(path: Path) -> dict[str, str]:
    """sha256 of every file under `path` (a file, a folder, or a symlink to one), by relative name."""
    if not path.exists():
        return {}
    if path.is_file():
        return {".": hashlib.sha256(path.read_bytes()).hexdigest()}
    root = path.resolve()
    return {
        str(f.relative_to(root)): hashlib.sha256(f.read_bytes()).hexdigest()
        for f in sorted(root.rglob("*"))
        if f.is_file()
    }


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_error_line(err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("article-pipeline: error: ") and "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture
def previous_out(tmp_path, capsys) -> Path:
    """An OUT produced by a clean run over 4 pages."""
    out = tmp_path / "out"
    code, _, err = run_cli(
        capsys, "run", str(make_batch(tmp_path / "first", 4)), "--out", str(out), "--quiet"
    )
    assert code == cli.EXIT_OK, err
    return out


@pytest.mark.parametrize("command", [[], ["run"], ["train"], ["eval"], ["explain"]])
def test_help_on_every_command(capsys, command):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*command, "--help"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: article-pipeline")


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["run", "seeds"])  # --out missing
    assert exit_info.value.code == cli.EXIT_USAGE
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["run", "seeds", "--out", "x", "--jobs", "0"])
    assert exit_info.value.code == cli.EXIT_USAGE


def test_missing_input_is_one_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "run", str(tmp_path / "missing"), "--out", str(out))
    assert code == cli.EXIT_FAIL
    assert_one_error_line(err, "input not found", "missing")
    assert not out.exists() and not versions_dir(out).exists()


def test_unusable_index_is_one_line_and_leaves_out_and_index(tmp_path, capsys, previous_out):
    index = tmp_path / "index.npz"
    index.write_bytes(b"not an index")
    before = snapshot(previous_out)
    batch = str(make_batch(tmp_path / "second", 2))
    code, _, err = run_cli(capsys, "run", batch, "--out", str(previous_out), "--index", str(index))
    assert code == cli.EXIT_FAIL
    assert_one_error_line(err, "not a readable same-story index")
    assert "StoryIndexError" not in err and "--debug" not in err  # a user's error, not an internal one
    assert snapshot(previous_out) == before and index.read_bytes() == b"not an index"


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback(tmp_path, where):
    argv = ["run", str(tmp_path / "missing"), "--out", str(tmp_path / "out")]
    argv = ["--debug", *argv] if where == "before" else [*argv, "--debug"]
    with pytest.raises(InputError):
        cli.main(argv)


def test_debug_traceback_on_stderr_through_the_console_script(tmp_path):
    argv = [
        sys.executable,
        "-m",
        "pipeline.cli",
        "run",
        str(tmp_path / "missing"),
        "--out",
        str(tmp_path / "o"),
    ]
    plain = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, check=False)
    debug = subprocess.run([*argv, "--debug"], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert plain.returncode == debug.returncode == cli.EXIT_FAIL
    assert_one_error_line(plain.stderr, "input not found")
    assert "Traceback" in debug.stderr and "InputError" in debug.stderr


def test_unwritable_output_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    code, _, err = run_cli(capsys, "run", str(SEEDS), "--out", str(blocker / "out"))
    assert code == cli.EXIT_FAIL
    assert_one_error_line(err, "cannot write output folder")


def test_full_disk_while_writing_tables_leaves_previous_out(tmp_path, capsys, monkeypatch, previous_out):
    before = snapshot(previous_out)

    def no_space(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "paragraphs.parquet")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", no_space)
    code, _, err = run_cli(capsys, "run", str(SEEDS), "--out", str(previous_out), "--quiet")
    assert code == cli.EXIT_FAIL
    assert_one_error_line(err, "No space left on device")
    assert snapshot(previous_out) == before
    assert [p.name for p in stored_versions(previous_out)] == [previous_out.resolve().name]


def test_full_disk_while_writing_summary_leaves_previous_out(tmp_path, capsys, monkeypatch, previous_out):
    before = snapshot(previous_out)
    write_text = Path.write_text

    def no_space_for_summary(self, *args, **kwargs):
        if self.name == "summary.json":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", no_space_for_summary)
    code, _, err = run_cli(capsys, "run", str(SEEDS), "--out", str(previous_out), "--quiet")
    assert code == cli.EXIT_FAIL
    assert_one_error_line(err, "No space left on device")
    assert snapshot(previous_out) == before


@pytest.fixture
def tiny_disk(tmp_path):
    """A 200 kB tmpfs (root only; skipped where mounting is not allowed)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("a real full disk needs root to mount a tmpfs")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(mount)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_real_full_disk(tmp_path, capsys, tiny_disk):
    out = tiny_disk / "out"
    # the report alone (0.9 MB of inlined Vega) would fill the 200 kB disk: tables only here
    code, _, err = run_cli(capsys, "run", str(SEEDS), "--out", str(out), "--quiet", "--no-report")
    assert code == cli.EXIT_OK, err
    before = snapshot(out)
    big = tmp_path / "big"
    big.mkdir()
    for i in range(100):  # incompressible text: about 700 kB of tables
        lines = (f"Line {n} " + os.urandom(40).hex() for n in range(40))
        (big / f"{i}.txt").write_text("\n".join(lines))
    code, _, err = run_cli(capsys, "run", str(big), "--out", str(out), "--quiet")
    assert code == cli.EXIT_FAIL
    assert_one_error_line(err, "No space left on device")
    assert snapshot(out) == before
    assert [p.name for p in stored_versions(out)] == [out.resolve().name]


def model_copy(tmp_path: Path) -> Path:
    model = tmp_path / "model" / "topic.joblib"
    model.parent.mkdir()
    shutil.copy(config.default_topic_model(), model)
    shutil.copy(config.default_topic_model().with_suffix(".json"), model.with_suffix(".json"))
    return model


@pytest.fixture
def no_unpickling(monkeypatch):
    """Fail loudly if anything is unpickled."""
    import joblib

    def refuse(*args, **kwargs):
        raise AssertionError("UNPICKLED")

    monkeypatch.setattr(joblib, "load", refuse)
    monkeypatch.setattr("pipeline.learn.store.joblib.load", refuse)


def test_modified_model_is_refused_before_unpickling(tmp_path, capsys, no_unpickling):
    model = model_copy(tmp_path)
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0x01
    model.write_bytes(bytes(data))
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "run", str(SEEDS), "--out", str(out), "--model", str(model))
    assert code == cli.EXIT_FAIL
    assert_one_error_line(err, "sha256", "refusing")
    assert "UNPICKLED" not in err and not out.exists()


def test_model_from_another_scikit_learn_is_refused(tmp_path, capsys, no_unpickling):
    model = model_copy(tmp_path)
    card = json.loads(model.with_suffix(".json").read_text())
    card["versions"]["scikit-learn"] = "0.0.1"
    model.with_suffix(".json").write_text(json.dumps(card))
    code, _, err = run_cli(capsys, "run", str(SEEDS), "--out", str(tmp_path / "o"), "--model", str(model))
    assert code == cli.EXIT_FAIL
    assert_one_error_line(err, "scikit-learn 0.0.1")
    assert "UNPICKLED" not in err


@pytest.mark.parametrize("missing", ["model", "card"])
def test_missing_model_or_card(tmp_path, capsys, missing, no_unpickling):
    model = model_copy(tmp_path)
    (model if missing == "model" else model.with_suffix(".json")).unlink()
    code, _, err = run_cli(capsys, "run", str(SEEDS), "--out", str(tmp_path / "o"), "--model", str(model))
    assert code == cli.EXIT_FAIL
    assert_one_error_line(err, "model not found" if missing == "model" else "card")


def bad_batch(folder: Path) -> tuple[Path, list[str]]:
    """Good pages plus bad inputs; returns the folder and the expected warning prefixes."""
    make_batch(folder, 3)
    (folder / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    (folder / "records.jsonl").write_text(
        '{"id": "j1", "text": "A good record.\\nWith two lines."}\n{broken\n'
    )
    return folder, [f"warning: {folder / 'image.txt'}: ", f"warning: {folder / 'records.jsonl'}:2: "]


def test_bad_inputs_are_skipped_with_one_line_each_and_exit_3(tmp_path, capsys):
    folder, expected = bad_batch(tmp_path / "in")
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "run", str(folder), "--out", str(out), "--quiet")
    assert code == cli.EXIT_SKIPPED
    warnings = err.strip().splitlines()
    assert len(warnings) == len(expected)
    assert all(w.startswith(e) for w, e in zip(warnings, expected, strict=True))
    summary = json.loads((out / "summary.json").read_text())
    assert [f"warning: {s}" for s in summary["skipped"]] == warnings
    articles = pd.read_parquet(out / "articles.parquet")
    assert articles["doc_id"].tolist() == ["page00000", "page00001", "page00002", "j1"]


def test_strict_fails_on_bad_input_and_leaves_previous_out(tmp_path, capsys, previous_out):
    before = snapshot(previous_out)
    folder, _ = bad_batch(tmp_path / "in")
    code, _, err = run_cli(capsys, "run", str(folder), "--out", str(previous_out), "--strict", "--quiet")
    assert code == cli.EXIT_STRICT
    assert err.strip().splitlines()[-1].startswith("article-pipeline: error: 2 bad input(s)")
    assert snapshot(previous_out) == before
    assert [p.name for p in stored_versions(previous_out)] == [previous_out.resolve().name]


def test_strict_on_a_clean_batch_runs_as_usual(tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, err = run_cli(
        capsys, "run", str(make_batch(tmp_path / "in", 3)), "--out", str(out), "--strict"
    )
    assert code == cli.EXIT_OK and err == ""
    assert f"wrote {out}/paragraphs.parquet" in stdout
    assert len(pd.read_parquet(out / "articles.parquet")) == 3


def test_empty_pages_give_no_rows_and_are_counted(tmp_path, capsys):
    folder = make_batch(tmp_path / "in", 2)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.txt").write_text(" \n\t\n\u3000\r\n", encoding="utf-8")
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "run", str(folder), "--out", str(out), "--quiet")
    assert code == cli.EXIT_OK, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["empty_pages"] == 2 and summary["pages"] == 4
    paragraphs = pd.read_parquet(out / "paragraphs.parquet")
    assert not paragraphs["doc_id"].isin(["empty", "blank"]).any()


def test_hostile_ids_are_data_never_paths(tmp_path, capsys):
    hostile = ["../../escape", "/", "a\x00b", "x" * 10_000, "..", "sub/dir/name", "\\..\\win"]
    folder = tmp_path / "work" / "in"
    folder.mkdir(parents=True)
    records = [
        {"id": h, "text": f"Headline {i}\nA body paragraph with several words."}
        for i, h in enumerate(hostile)
    ]
    (folder / "h.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "work" / "out"
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code, _, err = run_cli(capsys, "run", str(folder), "--out", str(out), "--quiet")
    assert code == cli.EXIT_OK, err
    articles = pd.read_parquet(out / "articles.parquet")
    assert articles["doc_id"].tolist() == hostile
    assert set(pd.read_parquet(out / "paragraphs.parquet")["doc_id"]) == set(hostile)
    created = sorted(set(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) - set(before))
    version = out.resolve().relative_to(tmp_path)
    expected = [
        Path("work/.out.versions"),
        Path("work/.out.versions") / LOCK_NAME,
        version,
        *(version / n for n in ("articles.parquet", "paragraphs.parquet", "report.html", "summary.json")),
        Path("work/out"),
    ]
    assert created == sorted(expected)


def test_same_input_gives_byte_identical_tables(tmp_path, capsys):
    folder = make_batch(tmp_path / "in", 6)
    digests = []
    for name in ("a", "b"):
        out = tmp_path / name
        code, _, err = run_cli(capsys, "run", str(folder), "--out", str(out), "--quiet")
        assert code == cli.EXIT_OK, err
        # summary.json and report.html (which shows the summary) hold the run's seconds
        digests.append({k: v for k, v in snapshot(out).items() if k not in ("summary.json", "report.html")})
    assert digests[0] == digests[1] and set(digests[0]) == {"paragraphs.parquet", "articles.parquet"}


JOBS_SCRIPT = r"""
import sys
from pipeline import load_models, run_batch

if __name__ == "__main__":
    folder, out = sys.argv[1], sys.argv[2]
    models = load_models()
    for jobs in map(int, sys.argv[3:]):
        run_batch([folder], f"{out}/jobs{jobs}", models, jobs=jobs, chunk_pages=2, progress=False)
"""


def run_jobs(folder: Path, out: Path, *jobs: int, timeout: float = 300) -> list[dict[str, str]]:
    """Tables of `run_batch` over `folder` for each --jobs value, run in turn in one fresh process
    (a child: a hang fails the test instead of stalling the suite)."""
    command = [sys.executable, "-c", JOBS_SCRIPT, str(folder), str(out), *map(str, jobs)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    timed = ("summary.json", "report.html")  # both hold the run's seconds
    return [{k: v for k, v in snapshot(out / f"jobs{j}").items() if k not in timed} for j in jobs]


def test_jobs_do_not_change_the_tables(tmp_path):
    # worker pools first: forking after this process ran OpenMP code hangs (see the next test)
    digests = run_jobs(make_batch(tmp_path / "in", 9), tmp_path / "out", 2, 3, 1)
    assert digests[0] == digests[1] == digests[2] and len(digests[0]) == 2


def test_a_pool_after_an_in_process_run_does_not_hang(tmp_path):
    # a hang never ends: the default timeout catches it without failing a slow, busy machine
    # (90 s did, on 2 cores both taken by other work)
    digests = run_jobs(make_batch(tmp_path / "in", 6), tmp_path / "out", 1, 2)
    assert digests[0] == digests[1]


def test_jobs_option_of_the_command(tmp_path):
    folder = make_batch(tmp_path / "in", 4)
    digests = []
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        command = [
            sys.executable,
            "-m",
            "pipeline.cli",
            "run",
            str(folder),
            "--out",
            str(out),
            "--jobs",
            jobs,
        ]
        done = subprocess.run([*command, "--quiet"], capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == cli.EXIT_OK, done.stderr[-2000:]
        # summary.json and report.html (which shows the summary) hold the run's seconds
        digests.append({k: v for k, v in snapshot(out).items() if k not in ("summary.json", "report.html")})
    assert digests[0] == digests[1]


def test_a_jobs_run_that_stops_early_leaves_no_hand_off_folder(tmp_path):
    """--strict stops at the first chunk: its workers are stopped and their hand-off folder
    (files in memory, pipeline.handoff) removed; one error line, no traceback."""
    from pipeline.handoff import PREFIX, hand_off_base

    base = hand_off_base() or Path(tempfile.gettempdir())

    def folders() -> set[str]:
        return {p.name for p in base.glob(f"{PREFIX}*")}

    before = folders()
    folder, _ = bad_batch(tmp_path / "in")
    command = [sys.executable, "-m", "pipeline.cli", "run", str(folder), "--out", str(tmp_path / "o")]
    done = subprocess.run(
        [*command, "--jobs", "2", "--strict", "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == cli.EXIT_STRICT, done.stderr[-2000:]
    assert done.stderr.strip().splitlines()[-1].startswith("article-pipeline: error: 2 bad input(s)")
    assert "Traceback" not in done.stderr
    assert folders() <= before


MEASURE = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"code": done.returncode, "stderr": done.stderr, "seconds": time.perf_counter() - start,
                  "peak_mb": peak_kb / 1024}))
"""


def measured_run(argv: list[str], env: dict[str, str] | None = None) -> dict:
    """Exit code, stderr, wall seconds and peak RSS (MB) of ``article-pipeline ARGV`` in a child."""
    command = [sys.executable, "-c", MEASURE, sys.executable, "-m", "pipeline.cli", *argv]
    done = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=True
    )
    return json.loads(done.stdout)


def huge_pages(folder: Path) -> Path:
    """A 20 MB single-line page and a page of 10^6 lines, beside a normal one."""
    folder.mkdir()
    words = b"tin t\xe1\xbb\xa9c market news the of vi\xe1\xbb\x87t nam ".split()
    line = b" ".join(words[(i * 7) % len(words)] for i in range(3_000_000))
    (folder / "one_line.txt").write_bytes(line[:20_000_000])
    (folder / "million.txt").write_bytes(b"x\n" * 1_000_000)
    shutil.copy(next(SEEDS.glob("*.txt")), folder / "normal.txt")
    return folder


def test_huge_pages_are_rejected_with_their_limit_in_bounded_memory_and_time(tmp_path):
    folder = huge_pages(tmp_path / "in")
    out = tmp_path / "out"
    result = measured_run(["run", str(folder), "--out", str(out), "--quiet"])
    assert result["code"] == cli.EXIT_SKIPPED, result["stderr"]
    warnings = sorted(result["stderr"].strip().splitlines())
    assert len(warnings) == 2
    assert warnings[0].startswith(f"warning: {folder / 'million.txt'}: page has 1000000 lines")
    assert warnings[1].startswith(f"warning: {folder / 'one_line.txt'}: page too large")
    assert result["peak_mb"] < 800 and result["seconds"] < 120
    assert pd.read_parquet(out / "articles.parquet")["doc_id"].tolist() == ["normal"]


@pytest.mark.slow
def test_huge_single_line_page_is_processed_under_a_raised_limit(tmp_path):
    folder = huge_pages(tmp_path / "in")
    (folder / "million.txt").unlink()
    out = tmp_path / "out"
    result = measured_run(
        ["run", str(folder), "--out", str(out), "--quiet"],
        env={"ARTICLE_PIPELINE_MAX_PAGE_BYTES": "25000000"},
    )
    assert result["code"] == cli.EXIT_OK, result["stderr"]
    assert result["peak_mb"] < 3000 and result["seconds"] < 300
    paragraphs = pd.read_parquet(out / "paragraphs.parquet")
    assert paragraphs.groupby("doc_id").size().to_dict()["one_line"] == 1
