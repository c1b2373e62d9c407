"""Re-extraction throughput next to the crawl's, on the same archive.

    .venv/bin/python bench/reextract.py [--articles 1000] [--theme classic] [--repeat 2]

Serves a generated fixture portal on 127.0.0.1 and crawls it once (settings.mirror, the
browser off: its cost is bench/browser_render.py's), then, over that crawl's archive, in the
same invocation:
1. the crawl's own extraction, in this process: every item's page read from the archive
   first, then only what the spider and the pipelines do with a page timed (``decode_html``,
   ``extract_article``, the item, the page pipelines: ``PageExtractor.item_from_page``);
2. ``scrapy reextract --workers 1`` and ``--workers 2``,
alternated ``--repeat`` times, the fastest of each kept.
Prints pages/s, CPU seconds (and per page) and peak RSS of each, and the ratios to (1).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fastest, full_crawl, measured_run  # noqa: E402
from crawler.extract import EXTRACTOR_VERSION  # noqa: E402
from crawler.layout import items_key, reextract_summary_key  # noqa: E402
from crawler.reextract.crawl import crawl_settings, item_lines  # noqa: E402
from crawler.reextract.pages import PageExtractor  # noqa: E402
from crawler.reextract.records import DomIndex, read_page  # noqa: E402
from crawler.storage import FileStore  # noqa: E402
from fixture_portal import FixturePortal, build_site  # noqa: E402

CRAWL_ID = "bench"


def extraction_only(archive: Path) -> dict:
    """The crawl's per-page extraction and pipelines, pages held in memory, timed alone."""
    from scrapy.settings import Settings
    from scrapy.utils.project import get_project_settings

    store = FileStore(archive)
    settings = Settings(crawl_settings(store, get_project_settings(), CRAWL_ID))
    with tempfile.TemporaryDirectory() as tmp:
        doms = DomIndex.read(store, CRAWL_ID, Path(tmp))
    extractor = PageExtractor(settings, store, CRAWL_ID, doms)
    pages = [
        (item, read_page(store, CRAWL_ID, item["warc"], doms))
        for item in item_lines(store, items_key(CRAWL_ID))
    ]
    wall, cpu = time.perf_counter(), time.process_time()
    made = sum(extractor.item_from_page(item, page).item is not None for item, page in pages)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"pages": len(pages), "made": made, "seconds": wall, "cpu_seconds": cpu}


def in_child(function, *args):
    """``function(*args)`` in a forked process: the pages it holds never swell this one, whose
    size each measured run would start from (a child's peak RSS counts its parent's at fork)."""
    with multiprocessing.get_context("fork").Pool(1) as pool:
        return pool.apply(function, args)


def reextract(workdir: Path, archive: Path, workers: int, name: str) -> dict:
    args = ["reextract", CRAWL_ID, "--workers", str(workers), "-s", f"ARCHIVE_URI={archive}"]
    run = measured_run(workdir, name, args)
    summary_path = archive / reextract_summary_key(CRAWL_ID, EXTRACTOR_VERSION)
    run["summary"] = json.loads(summary_path.read_text(encoding="utf-8"))
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--theme", default="classic", choices=("classic", "alt"))
    parser.add_argument("--repeat", type=int, default=2, help="runs of each; fastest reported")
    args = parser.parse_args()

    site = build_site(seed=7, n_articles=args.articles)
    with tempfile.TemporaryDirectory(prefix="bench-reextract-") as tmp:
        workdir = Path(tmp)
        with FixturePortal(site, theme=args.theme) as portal:
            crawl = full_crawl(workdir, portal.base_url, CRAWL_ID, {"BROWSER_ENABLED": False})
        archive = workdir / CRAWL_ID
        # The portal is stopped: nothing below could reach it.
        # Alternated, so that a machine busy at one moment slows every kind of run alike.
        bases, runs = [], {"reextract-1": [], "reextract-2": []}
        for n in range(args.repeat):
            bases.append(in_child(extraction_only, archive))
            for workers in (1, 2):
                name = f"reextract-{workers}"
                runs[name].append(reextract(workdir, archive, workers, f"{name}-{n}"))
        report(args, crawl, fastest(bases), {name: fastest(r) for name, r in runs.items()})


def report(args, crawl: dict, base: dict, runs: dict) -> None:
    items = crawl["items"]
    print(f"{args.articles} generated articles ({args.theme} theme); the crawl made {items} items")
    print(
        f"{'run':<22}{'articles':>9}{'wall s':>8}{'pages/s':>9}{'CPU s':>8}{'CPU ms/page':>12}"
        f"{'peak RSS MB':>12}{'vs (1) p/s':>11}"
    )
    base_rate = base["pages"] / base["seconds"]

    def row(name, pages, seconds, cpu, rss) -> None:
        rate = pages / seconds
        rss_text = f"{rss:>12.0f}" if rss is not None else f"{'-':>12}"
        print(
            f"{name:<22}{pages:>9}{seconds:>8.2f}{rate:>9.1f}{cpu:>8.2f}"
            f"{1000 * cpu / pages:>12.2f}{rss_text}{rate / base_rate:>11.2f}"
        )

    row("crawl (whole)", items, crawl["seconds"], crawl["cpu_seconds"], crawl["peak_rss_mb"])
    row("(1) crawl's extraction", base["pages"], base["seconds"], base["cpu_seconds"], None)
    for name, run in runs.items():
        summary = run["summary"]
        assert summary["unchanged"] == summary["articles"] == items, summary
        # CPU: the command's own count (this process and its workers' batches); the process
        # tree's (measured.py) in the note below, with start-up.
        row(name, items, summary["seconds"], summary["cpu_seconds"], run["peak_rss_mb"])
    for name, run in runs.items():
        print(
            f"{name}: whole command incl. start-up {run['seconds']:.2f} s wall, process tree"
            f" CPU {run['cpu_seconds']:.2f} s; its own loop {run['summary']['seconds']:.2f} s"
        )


if __name__ == "__main__":
    main()
