"""What an interrupted crawl costs the archive: a crawl stopped (SIGTERM to it, or to its
process group) or killed (kill -9 of its group) partway, then two more runs; and articles
that answer badly once (garbage, an empty body, a maintenance page), then three runs.

    .venv/bin/python bench/interrupted_crawls.py [--articles 2000]

Prints, for each: the first run's exit status, what it left in the spool, its manifest's
summary and file list, and how many articles have an item in the archive after all the
runs (out of those the portal lists). "Tin khác" links are not followed, so that an
article is reachable only through its section's listing (a stopped walk must be resumed,
not hidden by other links). It measures outcomes, not speed; run it on any commit to
compare.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fixture_portal import FixturePortal, build_site, expected_items  # noqa: E402
from tests import faults  # noqa: E402
from tests.crawl import crawl_command, run_crawl  # noqa: E402
from tests.helpers import wait_for  # noqa: E402

SETTINGS = {
    "BROWSER_ENABLED": False,
    "PORTAL_FOLLOW_RELATED": False,
    "PORTAL_FETCH_IMAGES": False,
    "PORTAL_MAX_LISTING_PAGES": 40,
}
# Slow enough that the interruption lands with every listing walk under way.
SLOW = {**SETTINGS, "CONCURRENT_REQUESTS": 2, "DOWNLOAD_DELAY": 0.02}
LISTING_PAGES_BEFORE_STOP = 13


def archived(archive: Path) -> set[str]:
    """Article URLs with an item in a stored items file (an unreadable file says so)."""
    found = set()
    for path in sorted((archive / "items").glob("*.jsonl.gz")):
        try:
            with gzip.open(path, "rt", encoding="utf-8") as lines:
                found.update(json.loads(line)["url"] for line in lines)
        except (EOFError, OSError, ValueError) as exc:
            print(f"   stored items file {path.name} unreadable: {type(exc).__name__}")
    return found


def interrupted(site, workdir: Path, how: str) -> None:
    archive = workdir / "archive"
    with FixturePortal(site, theme="classic") as portal:
        expected = set(expected_items(site, theme="classic", base_url=portal.base_url))
        command, env = crawl_command(portal.base_url, workdir, crawl_id="first", settings=SLOW)
        process = subprocess.Popen(command, cwd=workdir, env=env, start_new_session=True)

        def listing_pages() -> int:
            return sum("/page/" in path for _method, path, _headers in list(portal.request_log))

        wait_for(lambda: listing_pages() >= LISTING_PAGES_BEFORE_STOP, "listing walks")
        if how == "SIGTERM to the crawl":
            process.send_signal(signal.SIGTERM)
        elif how == "SIGTERM to its group":
            os.killpg(process.pid, signal.SIGTERM)
        else:
            os.killpg(process.pid, signal.SIGKILL)
        status = process.wait()
        spool = workdir / "spool" / "first"
        left = sorted(path.name for path in spool.iterdir()) if spool.is_dir() else []
        print(f"{how}: exit {status}; left in the spool: {left or 'nothing'}")
        manifest_path = archive / "crawls" / "first" / "manifest.json"
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
        if manifest:
            print(f"   manifest: {manifest['report']['summary']}")
            print(f"   manifest lists: {[entry['key'] for entry in manifest['files']]}")
        statuses = [
            run_crawl(portal.base_url, workdir, crawl_id=f"run{n}", settings=SETTINGS).returncode
            for n in (2, 3)
        ]
        later = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
        if manifest and later and later.get("finish_reason") != manifest["finish_reason"]:
            print(f"   the first manifest was replaced: {later['finish_reason']!r}")
        got = archived(archive) & expected
        print(f"   runs 2 and 3 exit {statuses}; articles with an item after 3 runs: "
              f"{len(got)} of {len(expected)}")  # fmt: skip


def bad_answers(workdir: Path) -> None:
    site = build_site(seed=1)
    with FixturePortal(site, theme="classic") as portal:
        expected = expected_items(site, theme="classic", base_url=portal.base_url)
        picked = sorted(url for url, item in expected.items() if item["section"])[10:13]
        paths = {urlsplit(url).path for url in picked}
        noise = random.Random(1).randbytes(4096)
        maintenance = b"<html><head><title>Bao tri</title></head><body><h1>Bao tri</h1></body>"
        answers = (
            faults.answer(200, noise),
            faults.answer(200, b""),
            faults.answer(200, maintenance),
        )
        for path, answer in zip(sorted(paths), answers, strict=True):
            portal.inject(path, faults.first(1, answer))
        asked = []
        for number in range(1, 4):
            before = len(portal.request_log)
            settings = {"BROWSER_ENABLED": False}
            run_crawl(portal.base_url, workdir, crawl_id=f"bad{number}", settings=settings)
            asked.append(sum(path in paths for _m, path, _h in portal.request_log[before:]))
        got = archived(workdir / "archive") & set(picked)
        print(f"3 articles that answer badly once (garbage, empty, maintenance page): asked "
              f"per run {asked}; with an item after 3 runs: {len(got)} of 3")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    args = parser.parse_args()
    site = build_site(seed=1, n_articles=args.articles)
    with tempfile.TemporaryDirectory(prefix="interrupted-") as tmp:
        for how in ("SIGTERM to the crawl", "SIGTERM to its group", "kill -9 of its group"):
            workdir = Path(tmp) / how.replace(" ", "-")
            workdir.mkdir()
            interrupted(site, workdir, how)
        workdir = Path(tmp) / "bad-answers"
        workdir.mkdir()
        bad_answers(workdir)


if __name__ == "__main__":
    main()
