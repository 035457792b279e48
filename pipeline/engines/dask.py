"""The dask engine: `run_batch` on a Dask cluster, with the local engine's tables.

    article-pipeline run DUMP... --out OUT --engine dask [--scheduler tcp://HOST:PORT] [--workers N]
        [--partition-pages N]

Without a scheduler address a `distributed.LocalCluster` of N single-threaded worker processes is
started and closed at the end. The steps (see `readplan`, `parts`, `storylinks`):

1. every worker scans its share of the input files (page counts and ids, no text to the client);
   the client cuts the pages into the local engine's chunks and groups whole chunks into
   partitions of about ``--partition-pages`` pages;
2. one task per partition reads its pages, runs `pipeline.run.process_and_sign` on each chunk with the
   models (sent once to each worker by a worker plugin), writes its paragraphs part file and
   keeps its chunks' same-story signatures in worker memory;
3. same-story links: a shuffle on LSH (band, key), hash joins for verification, union-find on the
   client over the verified edges (`storylinks`);
4. one task per partition writes its articles part with the links; the client writes summary.json
   and flips OUT, then saves ``--index``.

A task that fails because its worker died is retried by Dask on another worker (its part is
rewritten whole); a run that fails leaves OUT and INDEX as they were.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from distributed import Client, LocalCluster, WorkerPlugin, as_completed

from pipeline.engines.parts import PartsWriter, part_name, read_part, write_part
from pipeline.engines.readplan import Partition, plan_batch, read_partition, scan_files, scan_groups
from pipeline.engines.storyjoin import link_batch
from pipeline.errors import BadInputError, NoPagesError
from pipeline.learn.store import Models
from pipeline.run import (
    CHUNK_PAGES,
    build_summary,
    chunk_statistics,
    process_and_sign,
    progress_bar,
    write_report_into,
)
from pipeline.sketch.storyindex import SignedChunk, StoryIndex
from pipeline.stages.read import discover, pages_frame

PARTITION_PAGES = 2000
"""Default pages per partition (rounded up to whole chunks): four 500-page chunks, enough work per
task to hide Dask's per-task cost, small enough to balance and to bound a worker's memory."""

_MODELS: dict[str, Models] = {}  # in each worker: the models of the plugin named by the key


class ModelsPlugin(WorkerPlugin):
    """Puts the run's models in each worker once (and in any worker that joins later)."""

    def __init__(self, models: Models, key: str) -> None:
        self.models, self.key, self.name = models, key, key

    def setup(self, worker: Any) -> None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)  # one thread per worker process, as the local engine's --jobs
        _MODELS[self.key] = self.models


@dataclass
class PartitionResult:
    number: int
    chunks: list[SignedChunk]
    pages_per_chunk: list[int] = field(default_factory=list)
    seconds: Counter[str] = field(default_factory=Counter)
    totals: Counter[str] = field(default_factory=Counter)

    def light(self) -> PartitionResult:
        chunks = [c.light() for c in self.chunks]
        return PartitionResult(self.number, chunks, self.pages_per_chunk, self.seconds, self.totals)


def process_partition(
    partition: Partition, version: str, chunk_pages: int, settings: dict[str, object], models_key: str
) -> PartitionResult:
    """Read, process and sign one partition; write its paragraphs part and staged articles."""
    models = _MODELS[models_key]
    signer = StoryIndex(**settings)  # type: ignore[arg-type]
    start = time.perf_counter()
    pages = read_partition(partition)
    result = PartitionResult(partition.number, [])
    result.seconds["read"] += time.perf_counter() - start
    paragraphs, articles = [], []
    for first in range(0, len(pages), chunk_pages):
        lines, chunk_articles, seconds, signed = process_and_sign(
            pages_frame(pages[first : first + chunk_pages]), models, signer
        )
        result.chunks.append(signed)
        result.pages_per_chunk.append(len(chunk_articles))
        unlinked = chunk_articles.assign(dup_of_doc=None, doc_dup_score=None)
        result.totals.update(chunk_statistics(lines, unlinked))
        result.seconds.update(seconds)
        paragraphs.append(lines)
        articles.append(unlinked)
    start = time.perf_counter()
    root = Path(version)
    write_part(root / "paragraphs.parquet" / part_name(partition.number), paragraphs, "paragraphs")
    write_part(root / ".staging" / part_name(partition.number), articles, "articles")
    result.seconds["write"] += time.perf_counter() - start
    return result


def write_articles(version: str, number: int, links: list[tuple[list, list]]) -> float:
    """The partition's articles part: staged rows with their same-story columns."""
    start = time.perf_counter()
    root = Path(version)
    frames = read_part(root / ".staging" / part_name(number))
    linked = [
        frame.assign(
            dup_of_doc=pd.array(dup_of, dtype="string"), doc_dup_score=pd.array(scores, dtype="Float32")
        )
        for frame, (dup_of, scores) in zip(frames, links, strict=True)
    ]
    write_part(root / "articles.parquet" / part_name(number), linked, "articles")
    return time.perf_counter() - start


def run_batch_dask(
    inputs: Iterable[str | Path],
    out: str | Path,
    models: Models,
    index_path: str | Path | None = None,
    strict: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    partition_pages: int | None = None,
    chunk_pages: int = CHUNK_PAGES,
    progress: bool | None = None,
    report: bool = True,
    max_page_views: int = 200,
) -> dict[str, Any]:
    """`pipeline.run.run_batch` on Dask; returns the summary written to OUT/summary.json.

    The report (`report`) is built on the client from the parts the workers wrote, into the new
    version before it becomes OUT."""
    started = time.perf_counter()
    files = discover(inputs)
    index = StoryIndex.load(index_path) if index_path else StoryIndex()
    settings = index.settings()
    partition_chunks = max(1, math.ceil((partition_pages or PARTITION_PAGES) / chunk_pages))
    show = sys.stderr.isatty() if progress is None else progress
    with _connect(scheduler, workers or 2) as client:
        models_key = _send_models(client, models)
        groups = scan_groups(files, len(client.scheduler_info(n_workers=-1)["workers"]))
        scans = [s for group in client.gather(client.map(scan_files, groups, pure=False)) for s in group]
        plan = plan_batch(files, scans, chunk_pages, partition_chunks)
        for problem in plan.problems:
            print(f"warning: {problem}", file=sys.stderr)
        if not plan.pages and not (strict and plan.problems):
            raise NoPagesError(
                f"no page in the inputs ({len(files)} file(s)): nothing written, OUT untouched"
            )
        if strict and plan.problems:
            first = plan.problems[0]
            raise BadInputError(
                f"{len(plan.problems)} bad input(s), first: {first} (--strict: nothing written)"
            )
        with PartsWriter(out) as writer:
            version = str(writer.version)
            futures = [
                client.submit(process_partition, p, version, chunk_pages, settings, models_key, pure=False)
                for p in plan.partitions
            ]
            if show and client.dashboard_link and _has_dashboard(client):
                print(f"dask dashboard: {client.dashboard_link}", file=sys.stderr)
            _wait(futures, show)
            lights = client.gather([client.submit(PartitionResult.light, f) for f in futures])
            start = time.perf_counter()
            links, story_stats = link_batch(client, futures, lights, index, save=bool(index_path))
            link_seconds = time.perf_counter() - start
            write_seconds = client.gather(
                [
                    client.submit(write_articles, version, p.number, links[k], pure=False)
                    for k, p in enumerate(plan.partitions)
                ]
            )
            totals, seconds = Counter(), Counter({"stories": link_seconds, "write": sum(write_seconds)})
            for light in lights:
                totals.update(light.totals)
                seconds.update(light.seconds)
            totals["dup:same_story_pages"] = story_stats["same_story_pages"]
            summary = build_summary(files, plan.problems, totals, seconds, models, index, started)
            summary["engine"] = _engine_section(client, scheduler, plan, chunk_pages, story_stats)
            if report:
                _write_report(writer.version, summary, Path(out).name, started, max_page_views)
            writer.commit(summary)
        if index_path:
            index.save(index_path)
    return summary


def _write_report(version: Path, summary: dict, name: str, started: float, max_page_views: int) -> None:
    start = time.perf_counter()
    from pipeline.report.render import collect_out

    collector = collect_out(version, max_page_views)
    write_report_into(collector, summary, version, name, started, time.perf_counter() - start)


def _engine_section(client: Client, scheduler: str | None, plan, chunk_pages: int, stats: dict) -> dict:
    pages = [p.stop - p.start for p in plan.partitions]
    return {
        "name": "dask",
        "scheduler": scheduler or client.scheduler.address,
        "cluster": "external" if scheduler else "LocalCluster (started and closed by this run)",
        "workers": len(client.scheduler_info(n_workers=-1)["workers"]),
        "chunk_pages": chunk_pages,
        "partition_pages": max(pages, default=0),
        "partitions": len(pages),
        "same_story": {k: v for k, v in sorted(stats.items()) if k != "same_story_pages"},
    }


def _send_models(client: Client, models: Models) -> str:
    shas = (models.topic_card.get("sha256") or "none", models.lines_card.get("sha256") or "none")
    key = f"article-pipeline-models-{shas[0][:12]}-{shas[1][:12]}"
    client.register_plugin(ModelsPlugin(models, key), name=key)
    return key


def _has_dashboard(client: Client) -> bool:
    return "dashboard" in client.scheduler_info(n_workers=0).get("services", {})


def _wait(futures: list, show: bool) -> None:
    """Wait for every partition, with a progress bar; the first failure is raised."""
    bar = progress_bar(len(futures), show)
    bar.unit = "partition"
    try:
        for future in as_completed(futures):
            future.result()
            bar.update(1)
    finally:
        bar.close()


@contextmanager
def _connect(scheduler: str | None, workers: int) -> Iterator[Client]:
    """A client of the cluster at `scheduler`, or of a LocalCluster started (and closed) here."""
    logging.getLogger("distributed").setLevel(logging.ERROR)
    if scheduler:
        _reachable(scheduler)
        with Client(scheduler, timeout="20s") as client:
            client.wait_for_workers(1, timeout=60)
            yield client
        return
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # a free port: other clusters may run here
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _reachable(address: str) -> None:
    """Fail fast, in one line, when nothing listens at a tcp:// scheduler address."""
    import socket
    from urllib.parse import urlsplit

    if not address.startswith("tcp://"):
        return
    where = urlsplit(address)
    try:
        socket.create_connection((where.hostname, where.port), timeout=10).close()
    except (OSError, ValueError) as err:
        reason = getattr(err, "strerror", None) or err
        raise ConnectionError(0, f"cannot reach dask scheduler {address}: {reason}") from None
