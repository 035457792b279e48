"""A run uses `jobs` cores: in its own process too, native thread pools get one thread."""

from __future__ import annotations

from threadpoolctl import threadpool_info

import pipeline.run
from tests.conftest import REPO


def pool_threads() -> dict[str, int]:
    """Largest thread count per native API (blas, openmp) loaded in this process."""
    threads: dict[str, int] = {}
    for pool in threadpool_info():
        api = pool["user_api"]
        threads[api] = max(threads.get(api, 0), pool["num_threads"])
    return threads


def test_an_in_process_run_limits_native_pools_to_one_thread_and_restores_them(tmp_path, models, monkeypatch):
    seen: list[dict[str, int]] = []
    link_stories = pipeline.run.link_stories

    def spying_link_stories(articles, index, signed=None):
        seen.append(pool_threads())
        return link_stories(articles, index, signed)

    monkeypatch.setattr(pipeline.run, "link_stories", spying_link_stories)
    before = pool_threads()
    pipeline.run.run_batch([REPO / "seeds"], tmp_path / "out", models, progress=False, report=False)
    assert seen, "the run never reached the stories stage"
    assert all(threads == dict.fromkeys(threads, 1) for threads in seen), seen
    assert pool_threads() == before
