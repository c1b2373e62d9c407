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
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, fastest, full_crawl, measured_run, table  # noqa: E402
from fixture_portal import FixturePortal, build_site  # noqa: E402


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

        def full(name: str) -> dict:
            # The HTTP path; the browser's cost is bench/browser_render.py's business.
            return full_crawl(workdir, portal.base_url, name, {"BROWSER_ENABLED": False})

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
        baseline_best = fastest(runs["baseline"])
        measured = fastest(runs["full"])

    print(
        f"fixture portal: {args.articles} articles, theme {args.theme}; "
        f"{len(fetched)} distinct URLs fetched by a full crawl"
    )
    table([("baseline", baseline_best), ("full", measured)])
    rate = measured["pages"] / measured["seconds"]
    baseline_rate = baseline_best["pages"] / baseline_best["seconds"]
    print(
        f"full/baseline: throughput {rate / baseline_rate:.2f}, "
        f"CPU {measured['cpu_seconds'] / baseline_best['cpu_seconds']:.2f}, "
        f"peak RSS {measured['peak_rss_mb'] / baseline_best['peak_rss_mb']:.2f}; "
        f"{measured['items']} items"
    )


if __name__ == "__main__":
    main()
