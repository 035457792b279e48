"""Hand-off of a run's chunks between its processes through files in memory (``/dev/shm``).

``--jobs N`` sends each chunk's pages to a worker and its result back (`pipeline.run.process_chunks`).
Through multiprocessing's pipes a result (85,000 lines for 500 generated pages: 18.5 MB
pickled) moves at about 280 MB/s, one system call and one wake-up of the other process per 64 KB:
on 10,000 pages that was 1.2 s of the parent's CPU and 0.6 s of the workers', 4 % of the run.
Written to a file in a RAM-backed folder and read back in one call, the same results cost 0.3 s
and 0.35 s (measured in docs/speed.md); only the file's name goes through the pipe.

The files live in one private folder per run (``mkdtemp``: mode 0700, so no other user can read
or plant a pickle), removed with everything left in it when the run ends, however it ends short
of a kill. At most ``2 x jobs`` chunks are in flight, so the folder holds at most that many files.
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

MEMORY_FOLDER = Path("/dev/shm")
"""Linux's RAM-backed tmpfs; where it is missing or not writable, the system's temporary folder."""


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
        """A hand-off in a new private folder, in memory when the machine has ``/dev/shm``;
        the folder is removed on exit."""
        base = MEMORY_FOLDER if os.access(MEMORY_FOLDER, os.W_OK) else None
        folder = Path(tempfile.mkdtemp(prefix="article-pipeline-", dir=base))
        try:
            yield cls(folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def put(self, obj: Any) -> str:
        """Write `obj` to a new file; returns its name, for one `take` in any process."""
        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        fd, path = tempfile.mkstemp(dir=self.folder, suffix=".pickle")
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        return path

    def take(self, path: str) -> Any:
        """The object written by `put` as `path`; the file is removed."""
        with open(path, "rb") as file:
            data = file.read()
        os.unlink(path)
        return pickle.loads(data)
