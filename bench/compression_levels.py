"""Size against CPU of each gzip level, on what a crawl compresses.

    .venv/bin/python bench/compression_levels.py ARCHIVE_ROOT CRAWL_ID

Reads the crawl's stored items (``items/<crawl_id>.jsonl.gz``) and CDXJ indexes and
compresses them again, line by line as the crawl writes them (a sync flush each second is
left out: it costs the same at every level), at levels 1 to 9. Prints, per kind and level,
the compressed size against the raw size and the CPU milliseconds per MB of input.
"""

from __future__ import annotations

import argparse
import gzip
import time
import zlib
from pathlib import Path


def lines_of(root: Path, crawl_id: str) -> dict[str, list[bytes]]:
    items = gzip.decompress((root / "items" / f"{crawl_id}.jsonl.gz").read_bytes())
    indexes = b"".join(p.read_bytes() for p in sorted((root / "indexes" / crawl_id).glob("*")))
    return {"items": items.splitlines(True), "CDXJ": indexes.splitlines(True)}


def measure(lines: list[bytes], level: int, rounds: int = 3) -> tuple[int, float]:
    """(compressed bytes, CPU seconds of the fastest round)."""
    best = float("inf")
    size = 0
    for _ in range(rounds):
        started = time.process_time()
        deflate = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        size = sum(len(deflate.compress(line)) for line in lines) + len(deflate.flush())
        best = min(best, time.process_time() - started)
    return size, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("crawl_id")
    args = parser.parse_args()
    for kind, lines in lines_of(args.root, args.crawl_id).items():
        raw = sum(map(len, lines))
        print(f"\n{kind}: {len(lines)} lines, {raw / 1e6:.2f} MB raw")
        print(f"{'level':>5}{'bytes':>12}{'ratio':>8}{'vs 9':>8}{'CPU ms/MB':>11}")
        results = {level: measure(lines, level) for level in range(1, 10)}
        nine = results[9][0]
        for level, (size, cpu) in results.items():
            print(
                f"{level:>5}{size:>12,}{size / raw:>8.3f}{size / nine:>8.3f}"
                f"{1000 * cpu / (raw / 1e6):>11.1f}"
            )


if __name__ == "__main__":
    main()
