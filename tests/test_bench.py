"""The benchmark's page generator (deterministic, realistic shape) and a tiny `make bench` run."""

from __future__ import annotations

import gzip
import json
import statistics
from collections import Counter

import pytest

from pipeline.bench import pagegen
from pipeline.bench import speed as bench
from pipeline.bench.pagegen import SHARD_PAGES, Vocabulary, generate, shard_pages, write_pages


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return Vocabulary.builtin()  # independent of the shared corpora


@pytest.fixture(scope="module")
def pages(vocab):
    return list(generate(300, seed=1, vocab=vocab))


def test_same_seed_same_pages_other_seed_other_pages(vocab, pages):
    again = list(generate(300, seed=1, vocab=vocab))
    assert again == pages
    other = list(generate(20, seed=2, vocab=vocab))
    assert [p.text for p in other] != [p.text for p in pages[:20]]


def test_pages_do_not_depend_on_the_total(vocab, pages):
    """The first k pages of a large data set are the k-page data set; shards stand alone."""
    assert list(generate(40, seed=1, vocab=vocab)) == pages[:40]
    crossing = list(generate(SHARD_PAGES + 3, seed=1, vocab=vocab))
    assert crossing[:300] == pages
    assert list(shard_pages(vocab, 1, 1, 3)) == crossing[SHARD_PAGES:]
    assert len({p.doc_id for p in crossing}) == len(crossing)


def test_page_size_and_lines_like_zyte_dev(pages):
    """zyte-dev: about 9 KB, 246 lines, 165 non-empty on average (wide bounds: shape, not fit)."""
    size = statistics.mean(len(p.text.encode()) for p in pages)
    lines = [p.text.splitlines() for p in pages]
    full = statistics.mean(sum(1 for line in page if line.strip()) for page in lines)
    assert 6_000 < size < 13_000
    assert 110 < full < 230
    assert statistics.mean(len(page) for page in lines) > full  # blank lines between blocks


def test_pages_hold_the_repeats_the_pipeline_must_handle(pages):
    def repeats(text: str) -> int:
        counts = Counter(line for line in text.splitlines() if len(line) > 40)
        return sum(c - 1 for c in counts.values())

    in_page = sum(repeats(p.text) > 0 for p in pages) / len(pages)
    assert in_page > 0.3  # captions scraped twice, the headline above its standfirst...
    across = Counter(line for p in pages for line in set(p.text.splitlines()) if line.strip())
    assert sum(c >= 10 for c in across.values()) > 20  # menus and footers recur across pages
    mirrors = [p for p in pages if "/mirror-" in p.url]
    assert mirrors and all(any(s in p.text for s in pagegen._JUNK_SYMBOLS) for p in mirrors)
    assert any("/tag-" in p.url for p in pages)  # listing pages


def test_txt_and_jsonl_hold_the_same_pages(tmp_path, vocab):
    txt = write_pages(tmp_path / "t", 25, seed=4, fmt="txt", vocab=vocab)
    gz = write_pages(tmp_path / "g", 25, seed=4, fmt="jsonl.gz", vocab=vocab)
    assert txt["bytes"] == gz["bytes"] and txt["non_empty_lines"] == gz["non_empty_lines"]
    files = sorted((tmp_path / "t").rglob("*.txt"))
    with gzip.open(tmp_path / "g" / "shard-00000.jsonl.gz", "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    assert [f.stem for f in files] == [r["id"] for r in records]
    assert [f.read_text(encoding="utf-8") for f in files] == [r["text"] for r in records]
    # reused when asked again, byte-identical when written again
    assert write_pages(tmp_path / "t", 25, seed=4, fmt="txt", vocab=vocab) == txt
    write_pages(tmp_path / "g2", 25, seed=4, fmt="jsonl.gz", vocab=vocab)
    assert (tmp_path / "g2/shard-00000.jsonl.gz").read_bytes() == (
        tmp_path / "g/shard-00000.jsonl.gz"
    ).read_bytes()
    with pytest.raises(FileExistsError):
        write_pages(tmp_path / "t", 26, seed=4, fmt="txt", vocab=vocab)
    assert write_pages(tmp_path / "t", 26, seed=4, fmt="txt", vocab=vocab, replace_stale=True)["pages"] == 26
    assert len(list((tmp_path / "t").rglob("*.txt"))) == 26


def test_tiny_bench_run_reports_every_measure(tmp_path):
    """N=50 end to end: pipeline runs (1 and 2 jobs), trafilatura if installed, JSON and plot."""
    code = bench.main(
        [
            "--sizes",
            "50",
            "--out",
            str(tmp_path),
            "--traf-pages",
            "10",
            "--dedup-pages",
            "0",
            "--gen-jobs",
            "1",
            "--jobs-pairs",
            "2",
        ]
    )
    report = json.loads((tmp_path / "bench.json").read_text())
    assert code == 0, report["runs"]
    (run,) = report["runs"]
    for key in ("wall_s", "cpu_s", "pages_per_s", "pages_per_cpu_s", "mb_per_s", "peak_rss_mb", "startup_s"):
        assert run[key] > 0, key
    assert run["pages"] == 50 and run["input_bytes"] > 50 * 1000
    assert {"segment", "roles", "repeats", "topics", "stories", "write"} <= set(run["stage_ms_per_page"])
    jobs = report["jobs"]
    assert jobs["n"] == 50 and jobs["speedup"] > 0 and jobs["identical_output"] is True
    assert len(jobs["pairs"]) == len(jobs["pair_speedups"]) == 2
    traf = report["trafilatura"]
    if traf["available"]:
        assert traf["pages"] == 10 and traf["pages_per_s"] > 0
        assert report["ratio_vs_trafilatura"]["50"] > 0
    assert (tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_scale_runs_use_every_core_and_keep_the_index(tmp_path, monkeypatch):
    """Sizes above the jobs-check size run with --big-jobs and, with --index, keep the same-story
    index: what `make bench-full` does at 100k and 1M pages."""
    monkeypatch.setattr(bench, "JOBS_CHECK_MAX", 40)
    args = ["--sizes", "30,45", "--out", str(tmp_path), "--big-jobs", "2", "--index"]
    code = bench.main(
        [*args, "--traf-pages", "0", "--dedup-pages", "0", "--gen-jobs", "1", "--jobs-check", "0"]
    )
    report = json.loads((tmp_path / "bench.json").read_text())
    assert code == 0, report["runs"]
    small, big = report["runs"]
    assert (small["n"], small["jobs"], big["n"], big["jobs"]) == (30, 1, 45, 2)
    assert big["pages"] == 45 and big["index_bytes"] > 0 and big["peak_tree_rss_mb"] >= big["peak_rss_mb"]
    assert "jobs" not in report


def test_replicated_pages_are_copies_with_one_distinct_last_line(tmp_path):
    from pipeline.bench.replicated import replicate

    source = tmp_path / "src"
    source.mkdir()
    (source / "a.txt").write_text("Title A\n\nBody of A.\n")
    (source / "b.txt").write_text("Title B\nBody of B.")
    paths = replicate(source, tmp_path / "copies", 5)
    texts = [p.read_text() for p in paths]
    assert len(set(texts)) == 5 and len(set(paths)) == 5
    assert texts[0] == "Title A\n\nBody of A.\n(copy 0)\n" and texts[3] == "Title B\nBody of B.\n(copy 1)\n"
    assert [p.name for p in paths] == ["a-000.txt", "b-000.txt", "a-001.txt", "b-001.txt", "a-002.txt"]
