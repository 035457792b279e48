"""Whole processes measured as a user would run them: wall and CPU time, peak memory of the
process and of its workers, pinned to a core when ``taskset`` exists; and what machine it was."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time


def pinned(cmd: list[str], cores: str = "0") -> list[str]:
    """`cmd` pinned to `cores` with taskset when it exists (otherwise unpinned)."""
    taskset = shutil.which("taskset")
    return [taskset, "-c", cores, *cmd] if taskset else cmd


class _TreeRss(threading.Thread):
    """Samples the summed RSS of a process and its descendants (workers of --jobs N)."""

    def __init__(self, pid: int, every: float = 0.05):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak_kb = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak_kb = max(self.peak_kb, sum(_rss_kb(p) for p in _tree(self.pid)))
            self._halt.wait(self.every)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return pids


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(cmd: list[str]) -> dict:
    """Run `cmd` to completion: wall seconds, exit code, peak RSS (own and whole tree), output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        sampler = _TreeRss(proc.pid)
        sampler.start()
        # wait4 gives this child's own resource usage (RUSAGE_CHILDREN would mix in earlier runs)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    return {
        "wall_s": round(wall, 3),
        "exit_code": proc.returncode,
        # ru_maxrss (KB on Linux): the largest single process of the run, its workers included
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "peak_tree_rss_mb": round(sampler.peak_kb / 1024, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "stdout": stdout.decode("utf-8", "replace"),
        "stderr_tail": stderr.decode("utf-8", "replace")[-2000:],
    }


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "taskset": shutil.which("taskset") is not None,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
