"""Where the crawl's own thread spends its time: one full crawl, profiled.

    .venv/bin/python bench/crawl_profile.py [--articles 1000] [--theme classic]
        [--sampler cprofile|py-spy|timers] [--out crawl.prof] [--top 25] [--items OUT.jsonl]

Serves a generated fixture portal (seed 7, as bench/crawl_throughput.py) on 127.0.0.1, runs
the `portal` spider over it once (settings.mirror, browser off) in a subprocess, and prints
the functions with the largest share of the crawl process's main thread (the WARC writer
process and other threads are not in it):
- ``--sampler cprofile`` (default): deterministic, by own time and by cumulative time; it
  slows Python function calls down, so small functions called often look bigger than they are;
- ``--sampler py-spy``: sampling (py-spy, requirements-dev), inclusive share of the main
  thread's samples per function, start-up included; ``--out`` gets py-spy's raw stacks;
- ``--sampler timers``: no profiler: the main thread's CPU seconds and those of extraction,
  the cleaning pipeline and listing links (bench/timed_crawl.py), which a busy machine moves
  least; ``--out`` gets them as JSON.

``--items`` copies the crawl's items to a JSON Lines file with the fields
that differ from run to run (crawled_at, the WARC pointer) left out and the lines sorted, for
a byte-for-byte comparison of two crawls.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import pstats
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO  # noqa: E402
from fixture_portal import FixturePortal, build_site  # noqa: E402

# Fields that differ between two crawls of the same site.
VOLATILE_FIELDS = ("crawled_at", "warc", "crawl_id")


def profiled_crawl(portal_url: str, workdir: Path, out: Path, sampler: str) -> Path:
    """Crawl the portal under the profiler; the crawl's archive root."""
    archive = workdir / "archive"
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "settings.mirror", "PYTHONPATH": str(REPO)}
    if sampler == "timers":
        runner = [sys.executable, str(REPO / "bench" / "timed_crawl.py"), str(out)]
    elif sampler == "py-spy":
        py_spy = Path(sys.executable).with_name("py-spy")
        runner = [str(py_spy), "record", "--threads", "-r", "200", "-f", "raw", "-o", str(out)]
        runner += ["--", sys.executable, "-m", "scrapy.cmdline"]
    else:
        runner = [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "scrapy.cmdline"]
    command = [
        *runner, "crawl", "portal", "-a", f"portal_url={portal_url}",
        "-s", f"ARCHIVE_URI={archive}", "-s", "CRAWL_ID=profile", "-s", "BROWSER_ENABLED=False",
        "-s", "LOG_LEVEL=WARNING", "-s", f"LOG_FILE={workdir / 'crawl.log'}",
    ]  # fmt: skip
    subprocess.run(command, cwd=workdir, env=env, check=True)
    return archive


def crawl_items(archive: Path, portal_url: str) -> list[str]:
    """The crawl's items, volatile fields left out and the portal's URL (its port differs
    from run to run) written ``http://portal/``, as sorted JSON lines."""
    lines = []
    for path in sorted(p for p in archive.rglob("*.jsonl*") if "items" in p.parts):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as stream:
            for line in stream:
                if line.strip():
                    item = json.loads(line)
                    for name in VOLATILE_FIELDS:
                        item.pop(name, None)
                    line = json.dumps(item, ensure_ascii=False, sort_keys=True)
                    lines.append(line.replace(portal_url, "http://portal/"))
    return sorted(lines)


def sampled_summary(raw: Path, top: int) -> None:
    """Inclusive share of the main thread's samples per function (py-spy's raw stacks)."""
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if "MainThread" not in frames[0]:
            continue
        total += int(count)
        for name in {_frame_name(frame) for frame in frames[1:]}:
            inclusive[name] += int(count)
    print(f"main thread samples: {total}\n\ntop {top} by inclusive share")
    for name, count in inclusive.most_common(top):
        print(f"{100 * count / total:6.1f}%  {name}")


def _frame_name(frame: str) -> str:
    """``function (path/to/file.py:12)`` → ``function (file.py)``."""
    name, _, where = frame.partition(" (")
    return f"{name} ({Path(where.split(':')[0]).name})" if where else name


def summary(profile: Path, top: int) -> None:
    stats = pstats.Stats(str(profile))
    total = stats.total_tt
    print(f"profiled time of the crawl's main thread: {total:.1f} s")
    for key, title in (("tottime", "own time"), ("cumtime", "cumulative")):
        print(f"\ntop {top} by {title} (share of the profiled time)")
        rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2 if key == "tottime" else 3])
        for (filename, line, name), (_cc, calls, tt, ct, _callers) in reversed(rows[-top:]):
            where = f"{Path(filename).name}:{line}({name})" if line else name
            value = tt if key == "tottime" else ct
            print(f"{100 * value / total:6.1f}%  {value:7.2f} s  {calls:>9}  {where}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--theme", default="classic", choices=("classic", "alt"))
    parser.add_argument("--sampler", choices=("cprofile", "py-spy", "timers"), default="cprofile")
    parser.add_argument("--out", type=Path, default=Path("crawl.prof"))
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--items", type=Path, help="write the crawl's items here, sorted")
    args = parser.parse_args()

    site = build_site(seed=7, n_articles=args.articles)
    with (
        tempfile.TemporaryDirectory(prefix="bench-") as tmp,
        FixturePortal(site, theme=args.theme) as portal,
    ):
        archive = profiled_crawl(portal.base_url, Path(tmp), args.out.resolve(), args.sampler)
        if args.items:
            lines = crawl_items(archive, portal.base_url)
            args.items.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
            print(f"{len(lines)} items -> {args.items}")
    if args.sampler == "timers":
        spent = json.loads(args.out.read_text(encoding="utf-8"))
        main = spent.pop("main_thread")
        print(f"main thread CPU {main:.2f} s (start-up included)")
        for part, seconds in spent.items():
            print(f"{100 * seconds / main:6.1f}%  {seconds:6.2f} s  {part}")
    elif args.sampler == "py-spy":
        sampled_summary(args.out, args.top)
    else:
        summary(args.out, args.top)


if __name__ == "__main__":
    main()
