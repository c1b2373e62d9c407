"""Browser rendering: a crawl whose article pages are all rendered in Chromium, against the
same crawl on the plain HTTP path, and whether anything grows over the rendered crawl.

    .venv/bin/python bench/browser_render.py [--articles 520] [--checkpoints 100,250,500]

Serves a fixture portal on 127.0.0.1, then in the same invocation:
1. ``http``: the full spider with the browser off (every page over HTTP);
2. ``rendered``: the same crawl with every article page rendered (``BROWSER_RENDER_URLS``
   ``\\.html$``; listings, images and robots.txt stay on HTTP), WARC on in both.
Each crawl runs in its own process (``bench/measured.py``: wall time, CPU of the crawl and
its children, peak RSS of the whole process tree: crawler, WARC writer, Playwright's driver,
Chromium's processes). During the rendered crawl the process tree is sampled every 0.1 s;
the first sample after each checkpoint (article pages the portal has served, i.e. rendered)
is printed: processes (all, and Chromium's), tree RSS and PSS. Flat figures from checkpoint to
checkpoint mean pages are closed and nothing accumulates. Prints pages/s, CPU seconds and
peak RSS of both, and their ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, full_crawl, table  # noqa: E402
from fixture_portal import FixturePortal, build_site  # noqa: E402

SAMPLE_SECONDS = 0.1
RENDER_ARTICLES = r"\.html$"


def tree_sample(root: psutil.Process) -> dict:
    """Processes and memory of `root` and its descendants, now: the sum of their RSS (as
    bench/measured.py's peak; counts pages Chromium's processes share once per process)
    and of their PSS (shared pages divided among their users: what the tree really holds)."""
    processes, chromium, rss, pss = 0, 0, 0, 0
    for process in [root, *root.children(recursive=True)]:
        try:
            memory = process.memory_full_info()
            name = process.name()
        except psutil.Error:
            continue  # ended between listing and reading
        processes += 1
        chromium += name.startswith(("chromium", "chrome", "headless_shell"))
        rss, pss = rss + memory.rss, pss + memory.pss
    return {
        "processes": processes,
        "chromium": chromium,
        "rss_mb": rss / 2**20,
        "pss_mb": pss / 2**20,
    }


def rendered_crawl(workdir: Path, portal, checkpoints: list[int]) -> tuple[dict, list]:
    """The rendered crawl, measured as bench.common.full_crawl does, its tree sampled."""
    name = "rendered"
    archive = workdir / name
    usage_file = workdir / f"{name}.usage.json"
    settings = {
        "ARCHIVE_URI": archive,
        "CRAWL_ID": name,
        "BROWSER_RENDER_URLS": RENDER_ARTICLES,
        "LOG_LEVEL": "WARNING",
        "LOG_FILE": workdir / f"{name}.log",
    }
    command = [sys.executable, str(REPO / "bench" / "measured.py"), str(usage_file),
               "crawl", "portal", "-a", f"portal_url={portal.base_url}"]  # fmt: skip
    for key, value in settings.items():
        command += ["-s", f"{key}={value}"]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "settings.mirror", "PYTHONPATH": str(REPO)}
    start = len(portal.request_log)
    samples, pending = [], list(checkpoints)
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=workdir, env=env)
    root = psutil.Process(process.pid)
    while process.poll() is None:
        # Every article page goes to the browser (RENDER_ARTICLES): the portal's count of
        # them served is the count of pages rendered so far.
        rendered = sum(1 for _m, path, _h in portal.request_log[start:] if path.endswith(".html"))
        if pending and rendered >= pending[0]:
            try:
                samples.append({"pages": rendered, **tree_sample(root)})
            except psutil.Error:
                break  # the crawl ended meanwhile
            while pending and rendered >= pending[0]:
                pending.pop(0)
        try:
            process.wait(timeout=SAMPLE_SECONDS)
        except subprocess.TimeoutExpired:
            pass
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"the rendered crawl failed ({process.returncode}): see its log")
    result = {"seconds": elapsed, **json.loads(usage_file.read_text())}
    manifest = json.loads((archive / "crawls" / name / "manifest.json").read_text())
    stats = manifest["stats"]
    result.update(
        stats=stats,
        pages=stats.get("downloader/response_count", 0),
        items=stats.get("items/accepted", 0),
        crawl_seconds=stats["elapsed_time_seconds"],
    )
    result["crawl_rate"] = result["pages"] / result["crawl_seconds"]
    return result, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=520)
    parser.add_argument("--theme", default="classic", choices=("classic", "alt"))
    parser.add_argument(
        "--checkpoints",
        default="100,250,500",
        help="rendered pages at which the process tree is reported",
    )
    args = parser.parse_args()
    checkpoints = sorted(int(n) for n in args.checkpoints.split(","))

    site = build_site(seed=7, n_articles=args.articles)
    with (
        tempfile.TemporaryDirectory(prefix="bench-") as tmp,
        FixturePortal(site, theme=args.theme) as portal,
    ):
        workdir = Path(tmp)
        http = full_crawl(workdir, portal.base_url, "http", {"BROWSER_ENABLED": False})
        rendered, samples = rendered_crawl(workdir, portal, checkpoints)

    stats = rendered["stats"]
    print(f"fixture portal: {args.articles} articles, theme {args.theme}")
    table([("http", http), ("rendered", rendered)])
    rate = rendered["pages"] / rendered["seconds"]
    http_rate = http["pages"] / http["seconds"]
    print(
        f"rendered/http: throughput {rate / http_rate:.2f}, "
        f"CPU {rendered['cpu_seconds'] / http['cpu_seconds']:.2f}, "
        f"peak RSS {rendered['peak_rss_mb'] / http['peak_rss_mb']:.2f}; "
        f"items {rendered['items']} vs {http['items']}"
    )
    print(
        f"rendered: {stats.get('browser/pages', 0)} pages in the browser "
        f"({stats.get('browser/responses', 0)} responses archived, "
        f"{stats.get('browser/pages', 0) / rendered['crawl_seconds']:.1f} rendered pages/s), "
        f"pages opened {stats.get('playwright/page_count', 0)}, "
        f"closed {stats.get('playwright/page_count/closed', 0)}, "
        f"at once at most {stats.get('playwright/page_count/max_concurrent', 0)}, "
        f"contexts {stats.get('playwright/context_count', 0)}, "
        f"settle timeouts {stats.get('browser/settle_timeout', 0)}"
    )
    print(
        f"{'rendered pages':>15}{'processes':>11}{'chromium':>10}{'tree RSS MB':>13}"
        f"{'tree PSS MB':>13}"
    )
    for sample in samples:
        print(
            f"{sample['pages']:>15}{sample['processes']:>11}{sample['chromium']:>10}"
            f"{sample['rss_mb']:>13.1f}{sample['pss_mb']:>13.1f}"
        )
    if len(samples) < len(checkpoints):
        print(f"(the crawl rendered fewer pages than {checkpoints[-1]}: use more --articles)")


if __name__ == "__main__":
    main()
