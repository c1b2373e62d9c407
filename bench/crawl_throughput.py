"""Throughput of the full `portal` spider against a plain fetch-only spider.

    .venv/bin/python bench/crawl_throughput.py [--articles 2500] [--theme classic]

Serves a large fixture portal on 127.0.0.1, then in the same invocation:
1. a warm-up crawl with the full spider (fills the server's page cache and
   records which URLs a full crawl fetches),
2. the baseline: a plain Scrapy spider fetching exactly those URLs,
3. the full spider again, measured,
alternating 2 and 3 ``--repeat`` times and keeping each one's fastest run.
All runs use the same settings profile (settings.mirror). Prints pages/s,
CPU seconds and peak RSS of each, and the full/baseline ratios.
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crawler.fixture_portal import FixturePortal, build_site  # noqa: E402


def measured_run(workdir: Path, name: str, scrapy_args: list[str]) -> dict:
    usage_file = workdir / f"{name}.usage.json"
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "settings.mirror", "PYTHONPATH": str(REPO)}
    command = [
        sys.executable,
        str(REPO / "bench" / "measured.py"),
        str(usage_file),
        *scrapy_args,
        "-s",
        "LOG_LEVEL=WARNING",
        "-s",
        f"LOG_FILE={workdir / name}.log",
    ]
    started = time.perf_counter()
    subprocess.run(command, cwd=workdir, env=env, check=True)
    elapsed = time.perf_counter() - started
    usage = json.loads(usage_file.read_text())
    return {"seconds": elapsed, **usage}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2500)
    parser.add_argument("--theme", default="classic", choices=("classic", "alt"))
    parser.add_argument(
        "--repeat", type=int, default=3, help="measured runs of each; the fastest is reported"
    )
    args = parser.parse_args()

    site = build_site(seed=7, n_articles=args.articles)
    with (
        tempfile.TemporaryDirectory(prefix="bench-") as tmp,
        FixturePortal(site, theme=args.theme) as portal,
    ):
        workdir = Path(tmp)
        full_args = ["crawl", "portal", "-a", f"portal_url={portal.base_url}"]

        def full(name: str) -> dict:
            archive = workdir / name
            result = measured_run(
                workdir,
                name,
                [*full_args, "-s", f"ARCHIVE_URI={archive}", "-s", f"CRAWL_ID={name}"],
            )
            manifest = json.loads((archive / "crawls" / name / "manifest.json").read_text())
            result["pages"] = manifest["stats"].get("downloader/response_count", 0)
            result["items"] = manifest["stats"].get("items/accepted", 0)
            return result

        start = len(portal.request_log)
        full("warmup")
        fetched = sorted(
            {
                portal.base_url.rstrip("/") + path
                for _method, path, _headers in portal.request_log[start:]
            }
        )
        url_file = workdir / "urls.txt"
        url_file.write_text("\n".join(fetched), encoding="utf-8")

        def baseline(name: str) -> dict:
            result = measured_run(
                workdir,
                name,
                [
                    "runspider",
                    str(REPO / "bench" / "fetch_only.py"),
                    "-a",
                    f"urls={url_file}",
                    "-s",
                    "ADDONS={}",
                ],
            )
            result["pages"] = len(fetched)
            return result

        # Alternate the two so that a busy moment of the machine hits both alike.
        runs: dict[str, list[dict]] = {"baseline": [], "full": []}
        for n in range(args.repeat):
            runs["baseline"].append(baseline(f"baseline-{n}"))
            runs["full"].append(full(f"full-{n}"))
        baseline_best = min(runs["baseline"], key=lambda run: run["seconds"])
        measured = min(runs["full"], key=lambda run: run["seconds"])

    print(
        f"fixture portal: {args.articles} articles, theme {args.theme}; "
        f"{len(fetched)} distinct URLs fetched by a full crawl"
    )
    print(f"{'run':<10}{'pages':>8}{'seconds':>10}{'pages/s':>10}{'cpu s':>9}{'peak RSS MB':>13}")
    for name, run in (("baseline", baseline_best), ("full", measured)):
        rate = run["pages"] / run["seconds"]
        run["rate"] = rate
        print(
            f"{name:<10}{run['pages']:>8}{run['seconds']:>10.1f}{rate:>10.1f}"
            f"{run['cpu_seconds']:>9.1f}{run['peak_rss_mb']:>13.1f}"
        )
    print(
        f"full/baseline: throughput {measured['rate'] / baseline_best['rate']:.2f}, "
        f"CPU {measured['cpu_seconds'] / baseline_best['cpu_seconds']:.2f}, "
        f"peak RSS {measured['peak_rss_mb'] / baseline_best['peak_rss_mb']:.2f}; "
        f"{measured['items']} items"
    )


if __name__ == "__main__":
    main()
