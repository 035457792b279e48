"""The dask engine on real clusters (no mocks): same tables as the local engine, byte-identical
from run to run, the same --index behaviour, a CLI run against a separately started scheduler and
workers, and a worker killed mid-run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline import run_batch
from pipeline.errors import NoPagesError
from pipeline.sketch.storyindex import StoryIndex
from pipeline.stages.write import stored_versions, versions_dir
from tests.conftest import REPO, shared_path

BIN = Path(sys.executable).parent
TABLES = ("paragraphs", "articles")


def assert_same_tables(left: Path, right: Path) -> None:
    for table in TABLES:
        a = pd.read_parquet(left / f"{table}.parquet")
        b = pd.read_parquet(right / f"{table}.parquet")
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def table_bytes(out: Path) -> dict[str, bytes]:
    return {
        f"{table}/{part.name}": part.read_bytes()
        for table in TABLES
        for part in sorted((out / f"{table}.parquet").glob("*.parquet"))
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """A `dask scheduler` and two `dask worker` processes on 127.0.0.1, started and killed here."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("dask-logs")
    commands = [[str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port)]]
    commands[0] += ["--dashboard-address", ":0"]
    worker = [str(BIN / "dask"), "worker", address, "--nthreads", "1", "--nworkers", "1"]
    worker += ["--dashboard-address", ":0", "--host", "127.0.0.1"]
    commands += [worker, worker]
    processes = []
    for k, command in enumerate(commands):
        log = open(logs / f"{k}.log", "w")  # noqa: SIM115 - closed with the process
        processes.append(subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True))
        if k == 0:
            _wait_for_port(port)
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(2, timeout=60)
    yield address
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"dask scheduler did not listen on {port}")


@pytest.fixture(scope="module")
def sea_dev():
    return shared_path("corpus", "sea-dev")


def test_repo_seeds_on_a_local_cluster_equal_the_local_engine(tmp_path, models):
    run_batch([REPO / "seeds"], tmp_path / "local", models, progress=False)
    summary = run_batch([REPO / "seeds"], tmp_path / "dask", models, progress=False, engine="dask", workers=2)
    assert_same_tables(tmp_path / "local", tmp_path / "dask")
    assert summary["engine"]["name"] == "dask" and summary["engine"]["workers"] == 2
    assert summary["engine"]["scheduler"].startswith("tcp://127.0.0.1:") and summary["pages"] == 2
    assert summary["engine"]["cluster"].startswith("LocalCluster")
    # the tables are folders of part files; pyarrow reads them as one dataset
    import pyarrow.dataset as ds

    assert ds.dataset(tmp_path / "dask" / "articles.parquet").count_rows() == 2


def test_sea_dev_and_seeds_equal_the_local_engine_and_are_byte_identical(tmp_path, models, sea_dev):
    inputs = [sea_dev, shared_path("seeds")]
    run_batch(inputs, tmp_path / "local", models, progress=False, chunk_pages=20)
    options = {"engine": "dask", "workers": 2, "partition_pages": 40, "chunk_pages": 20, "progress": False}
    summary = run_batch(inputs, tmp_path / "dask", models, **options)
    assert_same_tables(tmp_path / "local", tmp_path / "dask")
    articles = pd.read_parquet(tmp_path / "dask" / "articles.parquet")
    assert articles["dup_of_doc"].notna().sum() >= 5  # sea-dev's same-story clusters are linked
    assert summary["engine"]["partitions"] == 3 and summary["engine"]["partition_pages"] == 40
    again = run_batch(inputs, tmp_path / "again", models, **options)
    assert table_bytes(tmp_path / "dask") == table_bytes(tmp_path / "again")
    # the same summary but for the seconds and the LocalCluster's (random) scheduler port
    for first, second in ((summary, again), (summary["engine"], again["engine"])):
        assert {k: v for k, v in second.items() if k not in ("seconds", "engine", "scheduler")} == {
            k: v for k, v in first.items() if k not in ("seconds", "engine", "scheduler")
        }


def _two_batches(tmp_path: Path, sea_dev: Path) -> tuple[Path, Path]:
    """sea-dev's pages in two folders; the second also holds a changed version of a first-batch
    page (a doc_id with new text) and a verbatim copy of another."""
    first, second = tmp_path / "batch1", tmp_path / "batch2"
    first.mkdir()
    second.mkdir()
    pages = sorted(sea_dev.glob("*.txt"))
    for k, page in enumerate(pages):
        shutil.copy(page, (first if k % 2 else second) / page.name)
    changed = sorted(first.glob("*.txt"))[3]
    lines = changed.read_text(encoding="utf-8").splitlines()
    (second / changed.name).write_text("\n".join(lines[: len(lines) * 2 // 3]), encoding="utf-8")
    kept = sorted(first.glob("*.txt"))[5]
    shutil.copy(kept, second / kept.name)
    return first, second


def test_index_across_two_batches_and_a_rerun_equal_the_local_engine(tmp_path, models, sea_dev, scheduler):
    first, second = _two_batches(tmp_path, sea_dev)
    dask = {"engine": "dask", "scheduler": scheduler, "partition_pages": 20, "chunk_pages": 10}
    for name, options in (("local", {"chunk_pages": 10}), ("dask", dask)):
        index = tmp_path / f"{name}.npz"
        for batch in ("1", "2", "2-again"):
            source = first if batch == "1" else second
            out = tmp_path / f"{name}-{batch}"
            run_batch([source], out, models, index_path=index, progress=False, **options)
    for batch in ("1", "2", "2-again"):
        assert_same_tables(tmp_path / f"local-{batch}", tmp_path / f"dask-{batch}")
    again = pd.read_parquet(tmp_path / "dask-2-again" / "articles.parquet")
    assert again["dup_of_doc"].notna().sum() >= 3  # links to the first batch's pages
    local, dask_index = StoryIndex.load(tmp_path / "local.npz"), StoryIndex.load(tmp_path / "dask.npz")
    assert local.doc_ids_ == dask_index.doc_ids_ and local.row_of_ == dask_index.row_of_
    for column in ("sig", "size", "fp", "answer", "score", "parent", "retired_by"):
        np.testing.assert_array_equal(local.columns_[column], dask_index.columns_[column])
    np.testing.assert_array_equal(
        local.bands_.bands_by_row(len(local)), dask_index.bands_.bands_by_row(len(dask_index))
    )


def test_a_flood_of_copies_takes_the_capped_lookup_path_and_equals_local(
    tmp_path, models, sea_dev, scheduler
):
    """150 copies of one article: every LSH bucket holds more rows than StoryIndex.max_bucket."""
    text = sorted(sea_dev.glob("*.txt"))[0].read_text(encoding="utf-8")
    records = [{"id": f"copy-{k:03d}", "text": text} for k in range(150)]
    dump = tmp_path / "flood.jsonl"
    dump.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    run_batch([dump], tmp_path / "local", models, progress=False, chunk_pages=25)
    dask = {"engine": "dask", "scheduler": scheduler, "partition_pages": 50, "chunk_pages": 25}
    summary = run_batch([dump], tmp_path / "dask", models, progress=False, **dask)
    assert_same_tables(tmp_path / "local", tmp_path / "dask")
    assert summary["duplicates"]["same_story_pages"] == 149


def test_duplicate_ids_and_bad_records_read_as_the_local_engine_reads_them(tmp_path, models, scheduler):
    """Ids repeated within and across files (and ids that look like renamed ones), bad records and
    a binary file: the same pages, names, warnings and their order as the local engine."""
    dump = tmp_path / "in"
    dump.mkdir()
    body = "A line of the page about a port seizure in the region.\nAnother line of the page."
    rows = {
        "a.jsonl": ["x", "x", "y#2", None, "y", "x#2"],
        "b.jsonl": ["y", "x", "x#3", "y#2"],
    }
    for name, ids in rows.items():
        lines = [json.dumps({"id": i, "text": f"{i}: {body}"}) if i else "{not json" for i in ids]
        (dump / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (dump / "x.txt").write_text(body, encoding="utf-8")
    (dump / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    local = run_batch([dump], tmp_path / "local", models, progress=False, chunk_pages=3)
    dask = {"engine": "dask", "scheduler": scheduler, "partition_pages": 3, "chunk_pages": 3}
    summary = run_batch([dump], tmp_path / "dask", models, progress=False, **dask)
    assert_same_tables(tmp_path / "local", tmp_path / "dask")
    assert summary["skipped"] == local["skipped"] and len(summary["skipped"]) == 2
    assert summary["warnings"] == local["warnings"] and len(summary["warnings"]) >= 5
    ids = pd.read_parquet(tmp_path / "dask" / "articles.parquet")["doc_id"]
    assert ids.is_unique and len(ids) == 10


def test_a_batch_without_pages_writes_nothing_as_the_local_engine(tmp_path, models, scheduler):
    dump = tmp_path / "in"
    dump.mkdir()
    (dump / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    for engine, options in (("local", {}), ("dask", {"scheduler": scheduler})):
        with pytest.raises(NoPagesError, match="no page in the inputs"):
            run_batch([dump], tmp_path / engine, models, progress=False, engine=engine, **options)
        assert not (tmp_path / engine).exists() and not versions_dir(tmp_path / engine).exists()


def test_cli_against_a_separately_started_scheduler_and_workers(tmp_path, sea_dev, scheduler):
    inputs = [str(sea_dev), str(REPO / "seeds")]
    cli = [str(BIN / "article-pipeline"), "run", *inputs, "--quiet"]
    subprocess.run([*cli, "--out", str(tmp_path / "local")], check=True, timeout=300)
    result = subprocess.run(
        [*cli, "--out", str(tmp_path / "dask"), "--engine", "dask", "--scheduler", scheduler],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert_same_tables(tmp_path / "local", tmp_path / "dask")
    summary = json.loads((tmp_path / "dask" / "summary.json").read_text())
    assert summary["engine"]["scheduler"] == scheduler and summary["engine"]["workers"] == 2
    # the report is built from the workers' part files, into OUT before it flips
    report = (tmp_path / "dask" / "report.html").read_text(encoding="utf-8")
    assert f"{summary['pages']:,}" in report or str(summary["pages"]) in report


def test_engine_options_are_usage_errors_with_the_other_engine(tmp_path):
    cli = [str(BIN / "article-pipeline"), "run", str(REPO / "seeds"), "--out", str(tmp_path / "o")]
    for extra in (["--workers", "2"], ["--engine", "dask", "--jobs", "2"]):
        result = subprocess.run([*cli, *extra], capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and "only with --engine" in result.stderr


def test_unreachable_scheduler_is_one_line_and_leaves_out(tmp_path):
    port = _free_port()
    cli = [str(BIN / "article-pipeline"), "run", str(REPO / "seeds"), "--out", str(tmp_path / "o")]
    result = subprocess.run(
        [*cli, "--engine", "dask", "--scheduler", f"tcp://127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "o").exists()


def test_worker_killed_mid_run_is_retried_or_fails_leaving_out(tmp_path, models, sea_dev, scheduler):
    """kill -9 of a worker once the first part file exists: Dask reruns its tasks elsewhere (the
    tables equal the local engine's), or the run fails and OUT is the previous output."""
    from distributed import Client

    inputs = [sea_dev]
    run_batch(inputs, tmp_path / "local", models, progress=False, chunk_pages=5)
    out = tmp_path / "out"
    run_batch([REPO / "seeds"], out, models, progress=False)  # the previous OUT
    previous = table_bytes_of_file(out)
    with Client(scheduler, timeout="30s") as client:
        pids = sorted(client.run(os.getpid).values())
    killed = threading.Event()

    def kill_on_first_part() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if any(v.is_dir() and any(v.glob("paragraphs.parquet/part-*")) for v in _new_versions(out)):
                os.kill(pids[0], signal.SIGKILL)
                killed.set()
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=kill_on_first_part)
    watcher.start()
    dask = {"engine": "dask", "scheduler": scheduler, "partition_pages": 5, "chunk_pages": 5}
    try:
        run_batch(inputs, out, models, progress=False, **dask)
    except Exception:
        watcher.join()
        assert killed.is_set()
        assert table_bytes_of_file(out) == previous  # failed cleanly: OUT untouched
        print("kill -9: the run failed, OUT untouched")
        return
    watcher.join()
    assert killed.is_set()
    assert_same_tables(tmp_path / "local", out)
    assert len(stored_versions(out)) == 1
    print("kill -9: retried, tables equal")


def _new_versions(out: Path) -> list[Path]:
    root = versions_dir(out.absolute())
    target = out.resolve() if out.is_symlink() else None
    return [v for v in root.iterdir() if v != target] if root.exists() else []


def table_bytes_of_file(out: Path) -> dict[str, bytes]:
    return {t: (out / f"{t}.parquet").read_bytes() for t in TABLES}


@pytest.mark.parametrize("n_index", [0, 40])
def test_bucket_pairs_equal_the_band_table_lookup_with_its_per_segment_cap(n_index):
    """Candidates from the shuffled buckets = StoryIndex's BandTable lookups chunk by chunk,
    floods (buckets over max_bucket) and an --index block included."""
    from pipeline.engines.storylinks import bucket_pairs, segments_by_chunk
    from pipeline.sketch.lsh import BandTable

    rng = np.random.default_rng(n_index)
    n_bands, chunk, n_chunks = 3, 25, 7
    n = n_index + chunk * n_chunks
    keys = np.where(rng.random((n, n_bands)) < 0.7, 7, rng.integers(0, 40, (n, n_bands))).astype(np.uint32)
    table = BandTable(n_bands)
    table.add(np.arange(n_index), keys[:n_index])
    expected = set()
    for c in range(n_chunks):
        rows = np.arange(n_index + chunk * c, n_index + chunk * (c + 1))
        table.add(rows, keys[rows])
        q, r = table.lookup(keys[rows], 64)
        keep = r < rows[q]
        expected |= set(zip(rows[q][keep].tolist(), r[keep].tolist(), strict=True))
    plan = {
        "n_index": n_index,
        "max_bucket": 64,
        "chunk_starts": n_index + chunk * np.arange(n_chunks),
        "segments": segments_by_chunk(n_index, [chunk] * n_chunks),
        "retired_rows": np.zeros(0, np.int64),
        "retired_by": np.zeros(0, np.int64),
    }
    bucket = (np.arange(n_bands, dtype=np.uint64)[None, :] << np.uint64(32)) | keys.astype(np.uint64)
    frame = pd.DataFrame({"bucket": bucket.ravel(), "row": np.repeat(np.arange(n), n_bands)})
    got = bucket_pairs(frame.sample(frac=1, random_state=1), plan)
    assert set(zip(got["q"].tolist(), got["r"].tolist(), strict=True)) == expected
    assert len(expected) > 5000  # floods: far more than 64 rows share key 7 in every band
