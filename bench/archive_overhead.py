"""What archiving every exchange as WARC costs: the full crawl with WARC on and off.

    .venv/bin/python bench/archive_overhead.py [--articles 2500] [--repeat 3]

Serves a large fixture portal on 127.0.0.1; after one warm-up crawl, runs the
full `portal` spider with WARC_ENABLED off and on, alternating ``--repeat``
times and keeping each one's fastest run. Browser rendering is off in both (the
plain HTTP path is what is measured here; bench/browser_render.py measures the
browser). Prints pages/s, CPU seconds, peak
RSS and bytes written of each, the on/off ratios, and the peak RSS of a crawl
of a portal a quarter the size (memory should not grow with the crawl).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fastest, full_crawl, table  # noqa: E402
from fixture_portal import FixturePortal, build_site  # noqa: E402

HTTP_ONLY = {"BROWSER_ENABLED": False}


def crawl_bytes(workdir: Path, name: str) -> int:
    return sum(p.stat().st_size for p in (workdir / name / "warcs").rglob("*.warc.gz"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    runs: dict[str, list[dict]] = {"warc off": [], "warc on": []}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        with FixturePortal(build_site(seed=7, n_articles=args.articles)) as portal:
            full_crawl(workdir, portal.base_url, "warmup", HTTP_ONLY)
            for n in range(args.repeat):
                runs["warc off"].append(
                    full_crawl(
                        workdir, portal.base_url, f"off-{n}", {**HTTP_ONLY, "WARC_ENABLED": False}
                    )
                )
                on = full_crawl(workdir, portal.base_url, f"on-{n}", HTTP_ONLY)
                on["bytes"] = crawl_bytes(workdir, f"on-{n}")
                runs["warc on"].append(on)
        with FixturePortal(build_site(seed=7, n_articles=args.articles // 4)) as small_portal:
            small = full_crawl(workdir, small_portal.base_url, "small", HTTP_ONLY)

    off, on = fastest(runs["warc off"]), fastest(runs["warc on"])
    print(f"fixture portal: {args.articles} articles; fastest of {args.repeat} runs each")
    table([("warc off", off), ("warc on", on)])
    print(
        f"on/off: throughput {on['rate'] / off['rate']:.2f} (whole run), "
        f"{on['crawl_rate'] / off['crawl_rate']:.2f} (while crawling); "
        f"CPU {on['cpu_seconds'] / off['cpu_seconds']:.2f} (crawl process alone "
        f"{on['crawler_cpu_seconds'] / off['crawler_cpu_seconds']:.2f}), "
        f"peak RSS {on['peak_rss_mb'] / off['peak_rss_mb']:.2f}; "
        f"WARC bytes written {on['bytes']:,} "
        f"({on['stats'].get('archive/records', 0):,} records, "
        f"{on['stats'].get('archive/files', 0)} files)"
    )
    print(
        f"memory: peak RSS {small['peak_rss_mb']:.1f} MB at {small['pages']} pages, "
        f"{on['peak_rss_mb']:.1f} MB at {on['pages']} pages"
    )


if __name__ == "__main__":
    main()
