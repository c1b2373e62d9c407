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
    result["rate"] = result["pages"] / result["seconds"]
    return result


def fastest(runs: list[dict]) -> dict:
    return min(runs, key=lambda run: run["seconds"])


def table(rows: list[tuple[str, dict]]) -> None:
    print(f"{'run':<12}{'pages':>8}{'seconds':>10}{'pages/s':>10}{'cpu s':>9}{'peak RSS MB':>13}")
    for name, run in rows:
        rate = run["pages"] / run["seconds"]
        print(
            f"{name:<12}{run['pages']:>8}{run['seconds']:>10.1f}{rate:>10.1f}"
            f"{run['cpu_seconds']:>9.1f}{run['peak_rss_mb']:>13.1f}"
        )
