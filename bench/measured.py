"""Run a scrapy command in this process and report its own resource use.

    python bench/measured.py OUT.json scrapy-args...

Writes ``{"cpu_seconds", "peak_rss_mb"}`` to OUT.json at exit: ``resource.getrusage`` of
this process plus its children (the WARC writer process), so each run is measured alone and
whole. CPU seconds are summed; peak RSS is this process's peak plus the largest child's (an
upper bound of the two together).
"""

import atexit
import json
import resource
import sys

from scrapy.cmdline import execute


def _report(path: str) -> None:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # ended and waited for
    with open(path, "w", encoding="utf-8") as out:
        json.dump(
            {
                "cpu_seconds": own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime,
                "peak_rss_mb": (own.ru_maxrss + children.ru_maxrss) / 1024,
                "crawler_cpu_seconds": own.ru_utime + own.ru_stime,
                "crawler_peak_rss_mb": own.ru_maxrss / 1024,
            },
            out,
        )


if __name__ == "__main__":
    atexit.register(_report, sys.argv[1])
    execute(["scrapy", *sys.argv[2:]])
