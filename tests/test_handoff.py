"""Chunks passed between a run's processes as files (pipeline.handoff)."""

from __future__ import annotations

import multiprocessing
import os
import stat
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from pipeline import handoff as handoff_module
from pipeline.errors import HandoffError
from pipeline.handoff import PREFIX, FileHandoff, hand_off_base, remove_orphans


def _round_trip_in_child(handoff: FileHandoff, path: str) -> str:
    frame = handoff.take(path)
    return handoff.put(frame.assign(n=frame["n"] * 2))


def test_an_object_goes_to_another_process_and_back_and_leaves_no_file():
    frame = pd.DataFrame({"text": pd.array(["a", None, "ç"], dtype="string"), "n": [1, 2, 3]})
    with FileHandoff.temporary() as handoff:
        folder = handoff.folder
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, "other users must not read or plant pickles"
        with multiprocessing.get_context("fork").Pool(1) as pool:
            answer = pool.apply(_round_trip_in_child, (handoff, handoff.put(frame)))
        assert len(list(folder.iterdir())) == 1, "the child's take removed the parent's file"
        back = handoff.take(answer)
        assert not list(folder.iterdir())
    pd.testing.assert_frame_equal(back, frame.assign(n=[2, 4, 6]))
    assert not folder.exists()


def test_the_folder_and_what_is_left_in_it_go_when_the_run_fails():
    with pytest.raises(RuntimeError), FileHandoff.temporary() as handoff:
        handoff.put(list(range(10)))
        folder = handoff.folder
        raise RuntimeError("a worker failed")
    assert not folder.exists()


def test_in_memory_when_the_machine_has_dev_shm_else_in_the_temporary_folder(tmp_path, monkeypatch):
    if os.access("/dev/shm", os.W_OK):
        with FileHandoff.temporary() as handoff:
            assert handoff.folder.parent == Path("/dev/shm")
    monkeypatch.setattr(handoff_module, "MEMORY_FOLDER", tmp_path / "missing")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the system's temporary folder, here
    with FileHandoff.temporary() as handoff:
        assert handoff.folder.parent == tmp_path
        assert handoff.take(handoff.put({"a": 1})) == {"a": 1}


def test_a_small_or_missing_memory_folder_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setattr(handoff_module, "MEMORY_FOLDER", tmp_path)
    assert hand_off_base() == tmp_path
    monkeypatch.setattr(handoff_module, "MEMORY_ROOM", 1 << 62)  # more than any disk
    assert hand_off_base() is None
    monkeypatch.setattr(handoff_module, "MEMORY_FOLDER", tmp_path / "missing")
    monkeypatch.setattr(handoff_module, "MEMORY_ROOM", 0)
    assert hand_off_base() is None


def test_folders_of_killed_runs_are_removed_and_live_ones_kept(tmp_path):
    ended = multiprocessing.get_context("fork").Process(target=int)
    ended.start()
    ended.join()
    dead = tmp_path / f"{PREFIX}{ended.pid}-abc"
    live = tmp_path / f"{PREFIX}{os.getpid()}-def"
    other = tmp_path / "article-pipeline-something-else"
    for folder in (dead, live, other):
        folder.mkdir()
        (folder / "x.pickle").write_bytes(b"x")
    remove_orphans(tmp_path)
    assert not dead.exists() and live.exists() and other.exists()


def test_a_chunk_that_cannot_be_written_is_one_line_naming_the_folder():
    with FileHandoff.temporary() as handoff:
        handoff.folder.rmdir()  # as if the folder were removed, or the file system full
        with pytest.raises(HandoffError, match="cannot pass a chunk between processes through") as info:
            handoff.put([1, 2, 3])
    message = str(info.value)
    assert str(handoff.folder) in message and "--jobs 1" in message and "\n" not in message
