"""Run a scrapy command in this process and report the resources it used.

    python bench/measured.py OUT.json scrapy-args...

Writes to OUT.json at exit:
- ``cpu_seconds``: CPU of this process and of its children (the WARC writer process, a
  browser), from ``resource.getrusage``; ``crawler_cpu_seconds``: this process alone;
- ``peak_rss_mb``: the largest sum of the resident memory of this process and all its
  descendants, sampled every 0.1 s with psutil; ``crawler_peak_rss_mb``: this process's own
  sampled peak. Not rusage: Linux carries ``ru_maxrss`` over exec, so a process started by a
  large one (a bench holding a 10,000-article site) reports its parent's size.
"""

import atexit
import json
import resource
import sys
import threading

import psutil
from scrapy.cmdline import execute

SAMPLE_SECONDS = 0.1


class TreeMemory:
    """Peak resident memory of this process and its descendants, sampled in a thread."""

    def __init__(self):
        self.peak_bytes = 0
        self.own_peak_bytes = 0
        self._me = psutil.Process()
        self._stop = threading.Event()
        threading.Thread(target=self._sample, name="rss-sampler", daemon=True).start()

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            total = self._me.memory_info().rss
            self.own_peak_bytes = max(self.own_peak_bytes, total)
            for child in self._me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass  # ended between listing and reading
            self.peak_bytes = max(self.peak_bytes, total)

    def stop(self) -> int:
        self._stop.set()
        return self.peak_bytes


def _report(path: str, memory: TreeMemory) -> None:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # ended and waited for
    peak = memory.stop()
    with open(path, "w", encoding="utf-8") as out:
        json.dump(
            {
                "cpu_seconds": own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime,
                "crawler_cpu_seconds": own.ru_utime + own.ru_stime,
                "peak_rss_mb": peak / 2**20,
                "crawler_peak_rss_mb": memory.own_peak_bytes / 2**20,
            },
            out,
        )


if __name__ == "__main__":
    atexit.register(_report, sys.argv[1], TreeMemory())
    execute(["scrapy", *sys.argv[2:]])
