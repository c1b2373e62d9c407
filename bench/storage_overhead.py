"""What storing into S3 costs: the same crawl into s3:// (SeaweedFS) and into file://.

    .venv/bin/python bench/storage_overhead.py [--articles 2500] [--repeat 3]

Serves a large fixture portal and starts SeaweedFS (``weed server -s3``, keys checked)
on 127.0.0.1; after one warm-up crawl of each, runs the full `portal` spider into a
local directory and into an S3 prefix, alternating ``--repeat`` times and keeping each
one's fastest run. Prints pages/s, CPU seconds and peak RSS of each, the bytes stored
(from the manifests), and the s3/file ratios (target: throughput >= 0.9).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fastest, measured_run, table  # noqa: E402
from fixture_portal import FixturePortal, build_site  # noqa: E402
from tests.seaweedfs import SeaweedFS, s3_settings  # noqa: E402


def crawl(
    workdir: Path, portal_url: str, name: str, archive_uri: str, settings: dict, warc_max_size: int
) -> dict:
    spool = workdir / "spool"
    # Plain HTTP: what is measured is the store, not the browser.
    settings = {"BROWSER_ENABLED": False, "WARC_MAX_SIZE": warc_max_size, **settings}
    args = ["crawl", "portal", "-a", f"portal_url={portal_url}", "-s", f"CRAWL_ID={name}",
            "-s", f"ARCHIVE_URI={archive_uri}", "-s", f"WARC_SPOOL_DIR={spool}"]  # fmt: skip
    for key, value in settings.items():
        args += ["-s", f"{key}={value}"]
    return measured_run(workdir, name, args)


def summarise(run: dict, manifest: dict) -> dict:
    stats = manifest["stats"]
    run["stats"] = stats
    run["pages"] = stats.get("downloader/response_count", 0)
    run["crawl_seconds"] = stats["elapsed_time_seconds"]
    run["rate"] = run["pages"] / run["seconds"]
    run["crawl_rate"] = run["pages"] / run["crawl_seconds"]
    run["bytes"] = sum(entry["size"] for entry in manifest["files"])
    run["files"] = len(manifest["files"])
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--warc-max-size",
        type=int,
        default=8 * 1024 * 1024,
        help="WARC_MAX_SIZE: small enough that files are stored while the crawl runs",
    )
    args = parser.parse_args()

    runs: dict[str, list[dict]] = {"file://": [], "s3://": []}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, SeaweedFS() as seaweed:
        workdir = Path(tmp)
        client = seaweed.client()

        def to_file(name: str) -> dict:
            run = crawl(workdir, portal.base_url, name, str(workdir / name), {}, args.warc_max_size)
            path = workdir / name / "crawls" / name / "manifest.json"
            return summarise(run, json.loads(path.read_text()))

        def to_s3(name: str) -> dict:
            prefix = f"{seaweed.prefix}/{name}"
            uri = f"s3://{seaweed.bucket}/{prefix}"
            before = server_cpu()
            run = crawl(
                workdir, portal.base_url, name, uri, s3_settings(seaweed), args.warc_max_size
            )
            run["server_cpu_seconds"] = server_cpu() - before
            key = f"{prefix}/crawls/{name}/manifest.json"
            body = client.get_object(Bucket=seaweed.bucket, Key=key)["Body"].read()
            return summarise(run, json.loads(body))

        def server_cpu() -> float:
            """CPU seconds the S3 server (on the same cores as the crawl) has used."""
            times = psutil.Process(seaweed.pid).cpu_times()
            return times.user + times.system

        with FixturePortal(build_site(seed=7, n_articles=args.articles)) as portal:
            to_file("warmup-file")
            to_s3("warmup-s3")
            for n in range(args.repeat):
                runs["file://"].append(to_file(f"file-{n}"))
                runs["s3://"].append(to_s3(f"s3-{n}"))

    local, s3 = fastest(runs["file://"]), fastest(runs["s3://"])
    print(
        f"fixture portal: {args.articles} articles, WARC_MAX_SIZE {args.warc_max_size:,}; "
        f"fastest of {args.repeat} runs each"
    )
    table([("file://", local), ("s3://", s3)])
    print(
        f"s3/file: throughput {s3['rate'] / local['rate']:.2f} (whole run), "
        f"{s3['crawl_rate'] / local['crawl_rate']:.2f} (while crawling); "
        f"CPU {s3['cpu_seconds'] / local['cpu_seconds']:.2f}, "
        f"peak RSS {s3['peak_rss_mb'] / local['peak_rss_mb']:.2f}; "
        f"stored {s3['bytes']:,} bytes in {s3['files']} objects "
        f"(file://: {local['bytes']:,} bytes in {local['files']} files); "
        f"the S3 server used {s3['server_cpu_seconds']:.1f} CPU s during that crawl"
    )


if __name__ == "__main__":
    main()
