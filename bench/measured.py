"""Run a scrapy command in this process and report its own resource use.

    python bench/measured.py OUT.json scrapy-args...

Writes ``{"cpu_seconds", "peak_rss_mb"}`` of this process to OUT.json at exit
(``resource.getrusage`` of the process itself, so each run is measured alone).
"""

import atexit
import json
import resource
import sys

from scrapy.cmdline import execute


def _report(path: str) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(path, "w", encoding="utf-8") as out:
        json.dump(
            {"cpu_seconds": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024},
            out,
        )


if __name__ == "__main__":
    atexit.register(_report, sys.argv[1])
    execute(["scrapy", *sys.argv[2:]])
