"""The command line's own process: start-up frozen out of the garbage collector's way, no progress
bar loaded when none is shown, and glibc's malloc reusing freed memory (pipeline.runtime)."""

from __future__ import annotations

import ctypes
import subprocess
import sys

import pytest

from tests.conftest import REPO

MALLINFO2 = """
import ctypes
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
def mapped_bytes():
    return libc.mallinfo2().hblkhd
"""


def has_mallinfo2() -> bool:
    try:
        return sys.platform.startswith("linux") and hasattr(ctypes.CDLL("libc.so.6"), "mallinfo2")
    except OSError:
        return False


needs_glibc = pytest.mark.skipif(not has_mallinfo2(), reason="needs glibc >= 2.33 (mallinfo2)")


def run_python(script: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@needs_glibc
@pytest.mark.parametrize("reuse", [False, True])
def test_reuse_freed_memory_serves_a_chunk_sized_array_from_the_heap(reuse):
    script = MALLINFO2 + (
        "from pipeline.runtime import reuse_freed_memory\n"
        f"applied = reuse_freed_memory() if {reuse} else False\n"
        "import numpy as np\n"
        "before = mapped_bytes()\n"
        "block = np.ones(10 << 20, dtype=np.uint8)\n"
        "print(applied, mapped_bytes() - before >= 10 << 20)\n"
    )
    assert run_python(script) == ([str(reuse), "False"] if reuse else ["False", "True"])


@needs_glibc
def test_a_quiet_run_freezes_its_start_up_reuses_memory_and_loads_no_progress_bar(tmp_path):
    """The command line pauses the garbage collector while it imports and loads the models, then
    freezes what they made (no later collection walks it); a hidden bar does not import tqdm."""
    script = MALLINFO2 + (
        "import gc, sys\n"
        "import numpy as np\n"
        "from pipeline.cli import main\n"
        f"sys.argv = ['article-pipeline', 'run', {str(REPO / 'seeds')!r}, '--out', {str(tmp_path / 'out')!r},"
        " '--quiet']\n"
        "code = main()\n"
        "before = mapped_bytes()\n"
        "block = np.ones(10 << 20, dtype=np.uint8)\n"
        "print(code, 'tqdm' in sys.modules, gc.isenabled(), gc.get_freeze_count() > 100_000,\n"
        "      mapped_bytes() - before >= 10 << 20)\n"
    )
    assert run_python(script) == ["0", "False", "True", "True", "False"]


@needs_glibc
def test_main_called_with_arguments_leaves_its_host_process_alone(tmp_path):
    script = MALLINFO2 + (
        "import gc\n"
        "import numpy as np\n"
        "from pipeline.cli import main\n"
        "gc.disable()\n"
        f"code = main(['run', {str(REPO / 'seeds')!r}, '--out', {str(tmp_path / 'out')!r}, '--quiet'])\n"
        "before = mapped_bytes()\n"
        "block = np.ones(10 << 20, dtype=np.uint8)\n"
        "print(code, gc.isenabled(), gc.get_freeze_count(), mapped_bytes() - before >= 10 << 20)\n"
    )
    assert run_python(script) == ["0", "False", "0", "True"]


def test_long_lived_startup_keeps_a_disabled_collector_disabled():
    import gc

    from pipeline.runtime import long_lived_startup

    was = gc.isenabled()
    try:
        gc.disable()
        with long_lived_startup():
            assert not gc.isenabled()
        assert not gc.isenabled()
        gc.enable()
        with long_lived_startup():
            assert not gc.isenabled()
        assert gc.isenabled()
    finally:
        gc.unfreeze()
        (gc.enable if was else gc.disable)()
