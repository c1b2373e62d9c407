"""The archiver against plain Scrapy's CrawlSpider, on the same nginx-served site.

    .venv/bin/python bench/vs_crawlspider.py [--articles 2000] [--article-kib 62] [--repeat 3]
                                             [--profile]

Serves a generated fixture portal from Debian's nginx (bench/nginx_site.py: gzip, keep-alive),
then in one invocation, alternating, ``--repeat`` times each:
- plain: Scrapy's ``CrawlSpider``, a ``LinkExtractor`` over every page, nothing archived
  (bench/plain_crawlspider.py; settings.mirror's concurrency, no add-ons);
- archiver: ``scrapy crawl portal`` with settings.mirror, everything on (WARC, CDXJ, items
  feed, manifest) into a ``file://`` archive root; the browser off (the HTTP path).
Each run is a whole process timed from outside (bench/measured.py). Prints the medians of
pages/s, CPU seconds, CPU ms per page and peak RSS of both, the ratios, and the bytes the
archiver stored by kind and per page. ``--article-kib`` pads the articles' bodies to pages of
about that size (issue 13's site: 62 KiB; the fixture's own: about 18). ``--profile`` then
runs each once more under py-spy (every process) and prints the top functions by share.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, measured_run  # noqa: E402
from bench.nginx_site import NginxSite  # noqa: E402
from bench.profile_summary import print_summary  # noqa: E402
from fixture_portal import build_site  # noqa: E402
from fixture_portal.pages import Router  # noqa: E402

# Top-level folders of the archive root, by what they hold.
KINDS = {
    "warcs": "WARC",
    "indexes": "indexes",
    "items": "items",
    "wacz": "WACZ",
    "state": "state",
    "crawls": "manifest",
}
ARCHIVER_SETTINGS = {"BROWSER_ENABLED": "False"}
PY_SPY = Path(sys.executable).parent / "py-spy"


def plain_args(workdir: Path, name: str, url: str) -> list[str]:
    return [
        "runspider", str(REPO / "bench" / "plain_crawlspider.py"),
        "-a", f"portal_url={url}", "-a", f"stats_file={workdir / name}.stats.json",
        "-s", "ADDONS={}",
    ]  # fmt: skip


def archiver_args(workdir: Path, name: str, url: str) -> list[str]:
    args = ["crawl", "portal", "-a", f"portal_url={url}",
            "-s", f"ARCHIVE_URI=file://{workdir / name}", "-s", f"CRAWL_ID={name}",
            "-s", f"WARC_SPOOL_DIR={workdir / name}-spool"]  # fmt: skip
    for key, value in ARCHIVER_SETTINGS.items():
        args += ["-s", f"{key}={value}"]
    return args


def plain_run(workdir: Path, name: str, url: str) -> dict:
    result = measured_run(workdir, name, plain_args(workdir, name, url))
    stats = json.loads((workdir / f"{name}.stats.json").read_text())
    result["pages"] = stats.get("downloader/response_count", 0)
    return result


def archiver_run(workdir: Path, name: str, url: str) -> dict:
    result = measured_run(workdir, name, archiver_args(workdir, name, url))
    archive = workdir / name
    manifest = json.loads((archive / "crawls" / name / "manifest.json").read_text())
    result["pages"] = manifest["stats"].get("downloader/response_count", 0)
    result["items"] = manifest["stats"].get("items/accepted", 0)
    result["bytes"] = stored_bytes(archive)
    shutil.rmtree(archive)  # disk: only the figures are kept
    return result


def stored_bytes(archive: Path) -> dict[str, int]:
    sizes = dict.fromkeys([*KINDS.values(), "other"], 0)
    for path in archive.rglob("*"):
        if path.is_file():
            top = path.relative_to(archive).parts[0]
            sizes[KINDS.get(top, "other")] += path.stat().st_size
    return sizes


def summary(runs: list[dict]) -> dict:
    """Medians over the repeats."""
    return {
        "pages": statistics.median(run["pages"] for run in runs),
        "rate": statistics.median(run["pages"] / run["seconds"] for run in runs),
        "seconds": statistics.median(run["seconds"] for run in runs),
        "cpu": statistics.median(run["cpu_seconds"] for run in runs),
        "cpu_ms": statistics.median(1000 * run["cpu_seconds"] / run["pages"] for run in runs),
        "rss": statistics.median(run["peak_rss_mb"] for run in runs),
    }


def print_table(plain: dict, archiver: dict) -> None:
    print(
        f"{'crawler':<10}{'pages':>7}{'wall s':>8}{'pages/s':>9}{'CPU s':>8}"
        f"{'CPU ms/page':>12}{'peak RSS MiB':>14}"
    )
    for name, row in (("plain", plain), ("archiver", archiver)):
        print(
            f"{name:<10}{row['pages']:>7.0f}{row['seconds']:>8.1f}{row['rate']:>9.1f}"
            f"{row['cpu']:>8.1f}{row['cpu_ms']:>12.2f}{row['rss']:>14.1f}"
        )
    print(
        f"archiver/plain: pages/s {archiver['rate'] / plain['rate']:.2f}, "
        f"CPU ms/page {archiver['cpu_ms'] / plain['cpu_ms']:.2f}, "
        f"peak RSS {archiver['rss'] / plain['rss']:.2f}"
    )


def print_bytes(sizes: dict[str, int], pages: int, items: int) -> None:
    total = sum(sizes.values())
    print(f"\nbytes stored by the archiver ({pages} pages, {items} items)")
    print(f"{'kind':<10}{'bytes':>13}{'per page':>10}")
    for kind, size in [*sizes.items(), ("total", total)]:
        print(f"{kind:<10}{size:>13,}{size / pages:>10,.0f}")


def profile(workdir: Path, name: str, args: list[str]) -> Path:
    """The same run under py-spy (all processes); its raw collapsed stacks."""
    out = workdir / f"{name}.profile.txt"
    env_args = ["-s", "LOG_LEVEL=WARNING", "-s", f"LOG_FILE={workdir / name}.log"]
    command = [
        str(PY_SPY), "record", "--subprocesses", "--rate", "200", "--format", "raw",
        "-o", str(out), "--", sys.executable, "-m", "scrapy", *args, *env_args,
    ]  # fmt: skip
    env = {"SCRAPY_SETTINGS_MODULE": "settings.mirror", "PYTHONPATH": str(REPO)}
    subprocess.run(command, cwd=workdir, env={**os.environ, **env}, check=True)
    return out


def article_kib(served: NginxSite) -> float:
    """Mean size of the article pages nginx serves (uncompressed; the first 500)."""
    router = Router(served.site, served.theme, served.base_url)
    sizes = [
        len(router.resolve(f"/{a.slug}.html").body)
        for a in served.site.articles[:500]
        if a.kind == "article"
    ]
    return statistics.mean(sizes) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--theme", default="classic", choices=("classic", "alt"))
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; medians shown")
    parser.add_argument(
        "--article-kib", type=float, help="article pages of about this size (default: about 18)"
    )
    parser.add_argument("--profile", action="store_true", help="then one run each under py-spy")
    parser.add_argument(
        "--keep-profiles", type=Path, help="copy the raw profiles (collapsed stacks) there"
    )
    args = parser.parse_args()
    if args.profile and not PY_SPY.exists():
        parser.error(f"--profile needs py-spy ({PY_SPY}): pip install -r requirements-dev.lock")

    site = build_site(seed=7, n_articles=args.articles, article_kib=args.article_kib)
    with tempfile.TemporaryDirectory(prefix="bench-vs-") as tmp, NginxSite(site, args.theme) as s:
        workdir = Path(tmp)
        runs: dict[str, list[dict]] = {"plain": [], "archiver": []}
        for n in range(args.repeat):
            # Alternated, so that a busy moment of the machine hits both alike.
            runs["plain"].append(plain_run(workdir, f"plain-{n}", s.base_url))
            runs["archiver"].append(archiver_run(workdir, f"archiver-{n}", s.base_url))
        profiles = []
        if args.profile:
            for name, make_args in (("plain", plain_args), ("archiver", archiver_args)):
                run_args = make_args(workdir, f"{name}-p", s.base_url)
                profiles.append((name, profile(workdir, f"{name}-p", run_args)))
        print(
            f"\nnginx-served fixture portal: {args.articles} articles "
            f"(article pages {article_kib(s):.1f} KiB on average), theme {args.theme}; "
            f"medians of {args.repeat} runs each, alternating"
        )
        print_table(summary(runs["plain"]), summary(runs["archiver"]))
        last = runs["archiver"][-1]
        print_bytes(last["bytes"], last["pages"], last["items"])
        for name, path in profiles:
            print_summary(path, f"profile of {name}")
            if args.keep_profiles:
                args.keep_profiles.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, args.keep_profiles / f"{args.articles}-{path.name}")


if __name__ == "__main__":
    main()
