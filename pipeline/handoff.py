"""Hand-off of a run's chunks between its processes through files in memory (``/dev/shm``).

``--jobs N`` sends each chunk's pages to a worker and its result back (`pipeline.run.process_chunks`).
Through multiprocessing's pipes a result (85,000 lines for 500 generated pages: 18.5 MB
pickled) moves at about 280 MB/s, one system call and one wake-up of the other process per 64 KB:
20 such results cost 1.1-1.25 s of the parent's CPU and 0.6-0.85 s of the worker's. Written to a
file in a RAM-backed folder and read back in one call, 0.3 and 0.35 s (docs/speed.md); only the
file's name goes through the pipe.

The files live in one private folder per run (``mkdtemp``: mode 0700, so no other user can read
or plant a pickle), removed with everything left in it when the run ends. At most ``2 x jobs``
chunks are in flight, so the folder holds at most that many files (tens of MB each). A run that
is killed cannot remove its folder: the folder's name holds the run's process id, and the next
run removes the folders of processes that no longer exist.
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipeline.errors import HandoffError

MEMORY_FOLDER = Path("/dev/shm")
"""Linux's RAM-backed tmpfs. Where it is missing, not writable or has less than `MEMORY_ROOM`
free (a container's is often 64 MB), the system's temporary folder is used instead."""

MEMORY_ROOM = 1 << 30
"""Free bytes the memory folder needs: 2 x jobs chunks of tens of MB, with room to spare."""

PREFIX = "article-pipeline-handoff-"


class FileHandoff:
    """Pickled objects passed between processes as files in `folder`.

    Parameters
    ----------
    folder : Path
        A folder that only this run uses (see `FileHandoff.temporary`).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    @contextmanager
    def temporary(cls) -> Iterator[FileHandoff]:
        """A hand-off in a new private folder (in memory where the machine allows), removed on
        exit; the folders left by killed runs are removed first."""
        base = hand_off_base()
        remove_orphans(base)
        folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=base))
        try:
            yield cls(folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def put(self, obj: Any) -> str:
        """Write `obj` to a new file; returns its name, for one `take` in any process."""
        try:
            fd, path = tempfile.mkstemp(dir=self.folder, suffix=".pickle")
            with os.fdopen(fd, "wb") as file:
                pickle.dump(obj, file, protocol=pickle.HIGHEST_PROTOCOL)
        except OSError as err:
            raise HandoffError(
                f"cannot pass a chunk between processes through {self.folder}: {err.strerror or err} "
                "(free space there, or run with --jobs 1)"
            ) from err
        return path

    def take(self, path: str) -> Any:
        """The object written by `put` as `path`; the file is removed."""
        with open(path, "rb") as file:
            data = file.read()
        os.unlink(path)
        return pickle.loads(data)


def hand_off_base() -> Path | None:
    """`MEMORY_FOLDER` when it is writable with `MEMORY_ROOM` free, else None (the system's
    temporary folder)."""
    try:
        if os.access(MEMORY_FOLDER, os.W_OK):
            stats = os.statvfs(MEMORY_FOLDER)
            if stats.f_bavail * stats.f_frsize >= MEMORY_ROOM:
                return MEMORY_FOLDER
    except OSError:
        pass
    return None


def remove_orphans(base: Path | None) -> None:
    """Remove this user's hand-off folders whose run's process no longer exists."""
    folder = Path(base or tempfile.gettempdir())
    try:
        candidates = [p for p in folder.glob(f"{PREFIX}*") if p.is_dir() and p.stat().st_uid == os.getuid()]
    except OSError:
        return
    for path in candidates:
        pid = path.name[len(PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
