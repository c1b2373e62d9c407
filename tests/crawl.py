"""Run a whole crawl as a user does (``scrapy crawl portal``) and read what it left."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass
class CrawlResult:
    returncode: int
    archive: Path
    crawl_id: str
    log: str

    @property
    def items(self) -> list[dict]:
        path = self.archive / "items" / f"{self.crawl_id}.jsonl.gz"
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            return [json.loads(line) for line in lines]

    @property
    def manifest(self) -> dict:
        path = self.archive / "crawls" / self.crawl_id / "manifest.json"
        return json.loads(path.read_text(encoding="utf-8"))

    @property
    def stats(self) -> dict:
        return self.manifest["stats"]


def crawl_command(
    portal_url: str,
    workdir: Path,
    *args: str,
    crawl_id: str = "test-crawl",
    profile: str = "settings.mirror",
    settings: dict | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of ``scrapy crawl portal``, archive root
    ``workdir/archive``, log ``workdir/<crawl_id>.log``."""
    command = [
        sys.executable, "-m", "scrapy", "crawl", "portal",
        "-a", f"portal_url={portal_url}",
        "-s", f"ARCHIVE_URI={workdir / 'archive'}",
        "-s", f"CRAWL_ID={crawl_id}",
        "-s", f"LOG_FILE={workdir / f'{crawl_id}.log'}",
        "-s", "LOG_LEVEL=INFO",
        *args,
    ]  # fmt: skip
    for name, value in (settings or {}).items():
        command += ["-s", f"{name}={value}"]
    # Run from the work directory, as a container would; the project is found
    # through its settings module.
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": profile, "PYTHONPATH": str(REPO)}
    return command, env


def run_crawl(portal_url: str, workdir: Path, *args: str, crawl_id: str = "test-crawl", **options):
    """``scrapy crawl portal`` in a subprocess, run to its end (see ``crawl_command``)."""
    command, env = crawl_command(portal_url, workdir, *args, crawl_id=crawl_id, **options)
    completed = subprocess.run(command, cwd=workdir, env=env, timeout=900, check=False)
    log_file = workdir / f"{crawl_id}.log"
    log = log_file.read_text(encoding="utf-8") if log_file.exists() else ""
    return CrawlResult(completed.returncode, workdir / "archive", crawl_id, log)
