"""Storage of the same-story index: growable columns in memory, one ``.npz`` file on disk.

In memory every index row is one entry of a few numpy columns grown by amortised doubling
(`GrowableColumns`), not a Python object per page. On disk the index is one ``.npz`` file, no
pickle: a JSON header (format, versions and parameters, checked on load), strings as one UTF-8
blob with offsets, and the numeric columns as they are. Written whole and atomically: a crash
leaves the previous file.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from pipeline.errors import StoryIndexError
from pipeline.files import atomic_write_bytes


class GrowableColumns:
    """Append-only numpy columns with amortised doubling (one row per index entry)."""

    def __init__(self, specs: dict[str, tuple[tuple[int, ...], type]]) -> None:
        self.n = 0
        self._data = {name: np.zeros((0, *shape), dtype=dtype) for name, (shape, dtype) in specs.items()}

    @property
    def names(self) -> list[str]:
        return list(self._data)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._data[name][: self.n]

    @property
    def nbytes(self) -> int:
        return sum(array.nbytes for array in self._data.values())

    def extend(self, **columns: np.ndarray) -> np.ndarray:
        """Append rows; returns their row numbers."""
        m = len(next(iter(columns.values())))
        need = self.n + m
        for name, array in self._data.items():
            if len(array) < need:
                grown = np.zeros((max(need, 2 * len(array), 64), *array.shape[1:]), dtype=array.dtype)
                grown[: self.n] = array[: self.n]
                self._data[name] = array = grown
            array[self.n : need] = columns[name]
        rows = np.arange(self.n, need)
        self.n = need
        return rows


def encode_strings(values: list[str]) -> dict[str, np.ndarray]:
    """`values` as a UTF-8 blob and the offsets of each string in it."""
    encoded = [v.encode("utf-8") for v in values]
    return {
        "id_bytes": np.frombuffer(b"".join(encoded), dtype=np.uint8),
        "id_offsets": np.r_[0, np.cumsum([len(e) for e in encoded], dtype=np.int64)].astype(np.int64),
    }


def decode_strings(arrays: dict[str, np.ndarray]) -> list[str]:
    blob, offsets = bytes(arrays["id_bytes"]), arrays["id_offsets"]
    return [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(len(offsets) - 1)]


def header_array(header: dict[str, object]) -> np.ndarray:
    """The JSON header as the ``header`` array of an index file."""
    return np.frombuffer(json.dumps(header, sort_keys=True).encode("utf-8"), dtype=np.uint8)


def write_index_file(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write `arrays` (a ``header`` among them) to `path` atomically: the whole file in memory
    (~0.9 KB a page), then one atomic write."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def read_index_file(path: Path) -> tuple[dict[str, object], dict[str, np.ndarray]]:
    """The header and arrays of an index file.

    Raises
    ------
    StoryIndexError
        The file is truncated or not an index file.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(bytes(data["header"]).decode("utf-8"))
            arrays = {name: data[name] for name in data.files if name != "header"}
    except Exception as error:  # a truncated or foreign file
        raise StoryIndexError(f"{path}: not a readable same-story index ({error})") from error
    return header, arrays
