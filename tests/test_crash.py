"""Crash safety: `kill -9` at any moment of a run leaves the previous OUT and INDEX as they were
(or, once the new OUT is flipped in, the new complete output), and the next run succeeds.

Two ways to pick "any moment": a child that SIGKILLs itself at the k-th file-system event of a run
(every mkdir, write, fsync, symlink, rename, unlink... of the run, in turn), and a real `kill -9`
from outside at moments of a longer run (starting up, the new version folder just created, the
first chunk just written).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.stages.write import stored_versions, versions_dir

from .test_cli import make_batch, snapshot

CHILD = r"""
# Runs `article-pipeline run` once per spec, each in a forked child that SIGKILLs itself at its
# `kill_at`-th file-system event (0: never) and lists its events in `trace`. Forking from one
# process that imported the pipeline once keeps each run cheap.
import json, os, signal, sys, shutil, pathlib
import pyarrow.parquet as pq
from pipeline import cli, run
from pipeline.stages import write  # imported first: only the run's own events are counted

def child(spec):
    err = os.open(spec["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(err, 2)
    events = []

    def hook(owner, name):
        original = getattr(owner, name)
        def wrapped(*args, **kwargs):
            events.append(name)
            if len(events) == spec["kill_at"]:
                os.kill(os.getpid(), signal.SIGKILL)
            return original(*args, **kwargs)
        setattr(owner, name, wrapped)

    for name in ("replace", "rename", "symlink", "fsync", "unlink", "mkdir", "rmdir", "link", "truncate"):
        hook(os, name)
    hook(shutil, "rmtree")
    for name in ("write_text", "write_bytes", "touch"):
        hook(pathlib.Path, name)
    for name in ("write_table", "close"):
        hook(pq.ParquetWriter, name)
    code = cli.main(spec["argv"])
    with open(spec["trace"], "w") as stream:
        stream.write("\n".join(events))
    return code

codes = []
for spec in json.loads(sys.argv[1]):
    pid = os.fork()
    if pid == 0:
        try:
            code = child(spec)
        except BaseException:
            code = 99
        sys.stderr.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    codes.append(-os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))
print(json.dumps(codes))
"""


class Child:
    """Outcome of one run of CHILD: exit code (negative: killed by that signal) and stderr."""

    def __init__(self, returncode: int, stderr: str):
        self.returncode, self.stderr = returncode, stderr


def run_children(specs: list[tuple[int, Path, list[str]]], work: Path) -> list[Child]:
    """Run ``article-pipeline run ARGV --quiet`` for each (kill_at, trace, argv), in order."""
    payload = [
        {"kill_at": k, "trace": str(t), "argv": ["run", *argv, "--quiet"], "stderr": str(work / f"err{i}")}
        for i, (k, t, argv) in enumerate(specs)
    ]
    server = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(payload)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert server.returncode == 0, server.stderr
    codes = json.loads(server.stdout.strip().splitlines()[-1])
    return [Child(code, Path(spec["stderr"]).read_text()) for code, spec in zip(codes, payload, strict=True)]


def run_child(kill_at: int, trace: Path, *argv: str) -> Child:
    return run_children([(kill_at, trace, list(argv))], trace.parent)[0]


def complete_output(out: Path, pages: int) -> bool:
    """OUT is a finished run's output over `pages` pages."""
    summary = out / "summary.json"
    if not summary.exists():
        return False
    files = {p.name for p in out.resolve().iterdir()}
    return files == {"paragraphs.parquet", "articles.parquet", "report.html", "summary.json"} and (
        json.loads(summary.read_text())["pages"] == pages
    )


@pytest.fixture
def previous(tmp_path) -> Path:
    """A folder holding a previous OUT (``out``) and INDEX (``index``) from a clean 3-page run."""
    state = tmp_path / "state"
    batch = make_batch(tmp_path / "first", 3)
    done = run_child(
        0, tmp_path / "trace0", str(batch), "--out", str(state / "out"), "--index", str(state / "index")
    )
    assert done.returncode == 0, done.stderr
    return state


def copy_state(state: Path, dest: Path) -> tuple[Path, Path]:
    """A copy of `state` at `dest` (OUT's relative symlink kept); returns its OUT and INDEX."""
    shutil.copytree(state, dest, symlinks=True)
    return dest / "out", dest / "index"


def tables(out: Path) -> dict[str, str]:
    return {k: v for k, v in snapshot(out).items() if k.endswith(".parquet")}


@pytest.mark.slow
def test_kill_at_every_file_system_event_of_a_run(tmp_path, previous):
    batch = make_batch(tmp_path / "second", 5)
    before = (snapshot(previous / "out"), snapshot(previous / "index"))
    # a full run from the same state first, to list its events and the output it gives
    out, index = copy_state(previous, tmp_path / "reference")
    done = run_child(0, tmp_path / "trace", str(batch), "--out", str(out), "--index", str(index))
    assert done.returncode == 0, done.stderr
    after = (tables(out), snapshot(index))
    events = (tmp_path / "trace").read_text().splitlines()
    assert len(events) >= 5 and "symlink" in events
    # the flip of OUT is the first rename after the new link is made; a kill at that event comes
    # before the rename itself
    flip = events.index("symlink") + 1
    flip += events[flip:].index("replace") + 1

    workspaces = [copy_state(previous, tmp_path / f"kill{k}") for k in range(1, len(events) + 1)]
    specs = [
        (k, tmp_path / f"trace{k}", [str(batch), "--out", str(out), "--index", str(index)])
        for k, (out, index) in enumerate(workspaces, start=1)
    ]
    killed_runs = run_children(specs, tmp_path)
    results = [(out, index, killed) for (out, index), killed in zip(workspaces, killed_runs, strict=True)]
    for kill_at, (out, index, killed) in enumerate(results, start=1):
        where = (kill_at, events[kill_at - 1], killed.stderr[-300:])
        assert killed.returncode == -signal.SIGKILL, where
        if kill_at <= flip:
            assert snapshot(out) == before[0] and snapshot(index) == before[1], where
        else:  # OUT is the new complete output; INDEX the previous one or the new one
            assert complete_output(out, pages=5) and tables(out) == after[0], where
            assert snapshot(index) in (before[1], after[1]), where
    # the next run succeeds, gives the clean run's output and removes orphans: after a kill while
    # writing tables, just before the flip, and the last one
    rerun_after = sorted({events.index("write_table") + 1, flip, len(events)})
    specs = [(0, tmp_path / "t", specs[k - 1][2]) for k in rerun_after]
    for kill_at, rerun in zip(rerun_after, run_children(specs, tmp_path), strict=True):
        out, index, _ = results[kill_at - 1]
        assert rerun.returncode == 0, rerun.stderr
        assert tables(out) == after[0], kill_at
        assert [p.name for p in stored_versions(out)] == [out.resolve().name], kill_at


def wait_for(condition, process: subprocess.Popen, timeout: float = 120.0) -> bool:
    """Poll `condition` until true (True) or the process ended / time ran out (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if condition():
            return True
        time.sleep(0.005)
    return False


def new_versions(out: Path) -> list[Path]:
    root = versions_dir(out)
    current = out.resolve()
    return [v for v in root.iterdir() if v != current] if root.exists() else []


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["starting", "version-created", "first-chunk-written"])
def test_kill_9_from_outside_mid_run(tmp_path, previous, moment):
    out, index = previous / "out", previous / "index"
    n_pages = 1200  # more than one chunk of pages: the run writes, then keeps processing
    batch = make_batch(tmp_path / "big", n_pages)
    before = (snapshot(out), snapshot(index))

    def command(dump: Path) -> list[str]:
        run = [sys.executable, "-m", "pipeline.cli", "run", str(dump), "--out", str(out)]
        return [*run, "--index", str(index), "--quiet"]

    process = subprocess.Popen(command(batch), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if moment == "starting":
            time.sleep(0.3)
            reached = process.poll() is None
        elif moment == "version-created":
            reached = wait_for(lambda: bool(new_versions(out)), process)
        else:
            reached = wait_for(
                lambda: any((v / "paragraphs.parquet").exists() for v in new_versions(out)), process
            )
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    if not reached or process.returncode != -signal.SIGKILL:
        pytest.skip(f"the run ended before the kill at {moment} (exit {process.returncode})")
    assert snapshot(out) == before[0] and snapshot(index) == before[1]
    rerun = subprocess.run(command(tmp_path / "first"), capture_output=True, text=True, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert complete_output(out, pages=3)
    assert [p.name for p in stored_versions(out)] == [out.resolve().name]
