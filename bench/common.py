"""Shared by the benchmark scripts: measured crawl runs in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def measured_run(workdir: Path, name: str, scrapy_args: list[str]) -> dict:
    """Run a scrapy command (settings.mirror) in its own process; wall time,
    CPU seconds and peak RSS of that process."""
    usage_file = workdir / f"{name}.usage.json"
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "settings.mirror", "PYTHONPATH": str(REPO)}
    command = [
        sys.executable, str(REPO / "bench" / "measured.py"), str(usage_file), *scrapy_args,
        "-s", "LOG_LEVEL=WARNING", "-s", f"LOG_FILE={workdir / name}.log",
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, cwd=workdir, env=env, check=True)
    elapsed = time.perf_counter() - started
    usage = json.loads(usage_file.read_text())
    return {"seconds": elapsed, **usage}


def full_crawl(workdir: Path, portal_url: str, name: str, settings: dict | None = None) -> dict:
    """The `portal` spider over the whole portal; adds pages, items and stats."""
    archive = workdir / name
    args = ["crawl", "portal", "-a", f"portal_url={portal_url}",
            "-s", f"ARCHIVE_URI={archive}", "-s", f"CRAWL_ID={name}"]  # fmt: skip
    for key, value in (settings or {}).items():
        args += ["-s", f"{key}={value}"]
    result = measured_run(workdir, name, args)
    manifest = json.loads((archive / "crawls" / name / "manifest.json").read_text())
    result["stats"] = manifest["stats"]
    result["pages"] = manifest["stats"].get("downloader/response_count", 0)
    result["items"] = manifest["stats"].get("items/accepted", 0)
    # Scrapy's clock: from the spider opening to its closing, before the
    # close-time work (last WARC indexed, WACZ, feeds) and process start-up.
    result["crawl_seconds"] = manifest["stats"]["elapsed_time_seconds"]
    result["rate"] = result["pages"] / result["seconds"]
    result["crawl_rate"] = result["pages"] / result["crawl_seconds"]
    return result


def fastest(runs: list[dict]) -> dict:
    return min(runs, key=lambda run: run["seconds"])


def table(rows: list[tuple[str, dict]]) -> None:
    """Wall seconds and pages/s of the whole process; crawl seconds and pages/s
    by Scrapy's clock where known (the spider open to close)."""
    print(
        f"{'run':<12}{'pages':>7}{'wall s':>8}{'pages/s':>9}{'crawl s':>9}{'crawl p/s':>10}"
        f"{'cpu s':>8}{'peak RSS MB':>13}"
    )
    for name, run in rows:
        rate = run["pages"] / run["seconds"]
        crawl_s = f"{run['crawl_seconds']:>9.1f}" if "crawl_seconds" in run else f"{'-':>9}"
        crawl_rate = f"{run['crawl_rate']:>10.1f}" if "crawl_rate" in run else f"{'-':>10}"
        print(
            f"{name:<12}{run['pages']:>7}{run['seconds']:>8.1f}{rate:>9.1f}{crawl_s}{crawl_rate}"
            f"{run['cpu_seconds']:>8.1f}{run['peak_rss_mb']:>13.1f}"
        )
