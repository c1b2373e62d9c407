"""Run a whole crawl as a user does (``scrapy crawl portal``) and read what it left."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The last line of a traceback whose exception is a warning (raised as an error), or the
# line Python prints for an exception it had to ignore (in __del__, at exit).
_WARNING_RAISED = re.compile(r"^(?:[\w.]+\.)?\w*Warning: .*$|^Exception ignored in.*$", re.M)


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


def python_warnings() -> str:
    """``PYTHONWARNINGS`` for the Python processes tests start: warnings are errors there as
    they are in the test process, with the ignores of pyproject's ``filterwarnings``.

    Python reads each message there as the literal start of the warning (pytest reads a
    regular expression): the ignores are kept to plain text. Those naming one of pytest's
    own categories are left out: outside pytest the same event is printed on standard
    error, where ``assert_no_warning_raised`` finds it.
    """
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    filters = config["tool"]["pytest"]["ini_options"]["filterwarnings"]
    return ",".join(entry for entry in filters if ":pytest." not in entry)


def scrapy_env(profile: str = "settings.mirror") -> dict[str, str]:
    """The environment of a ``scrapy`` command run by a test: the project found through its
    settings module, warnings as errors (``python_warnings``)."""
    return {
        **os.environ,
        "SCRAPY_SETTINGS_MODULE": profile,
        "PYTHONPATH": str(REPO),
        "PYTHONWARNINGS": python_warnings(),
    }


def assert_no_warning_raised(output: str) -> None:
    """A process run with ``python_warnings`` raised no warning: no traceback of one in its
    log or standard error, and no exception Python had to ignore."""
    raised = _WARNING_RAISED.findall(output)
    assert not raised, "warnings raised in a subprocess:\n" + "\n".join(raised)


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
    return command, scrapy_env(profile)


def run_crawl(portal_url: str, workdir: Path, *args: str, crawl_id: str = "test-crawl", **options):
    """``scrapy crawl portal`` in a subprocess, run to its end (see ``crawl_command``); fails
    if a warning was raised in it."""
    command, env = crawl_command(portal_url, workdir, *args, crawl_id=crawl_id, **options)
    completed = subprocess.run(
        command, cwd=workdir, env=env, stderr=subprocess.PIPE, text=True, timeout=900, check=False
    )
    sys.stderr.write(completed.stderr)  # shown with the test's output, as before
    log_file = workdir / f"{crawl_id}.log"
    log = log_file.read_text(encoding="utf-8") if log_file.exists() else ""
    assert_no_warning_raised(log + completed.stderr)
    return CrawlResult(completed.returncode, workdir / "archive", crawl_id, log)


def run_wacz(workdir: Path, archive_uri: str | Path, crawl_id: str, *args: str, settings=None):
    """``scrapy wacz <crawl_id>`` over the archive root ``archive_uri``, in a subprocess; fails
    if a warning was raised in it. The completed process (output captured)."""
    command = [sys.executable, "-m", "scrapy", "wacz", crawl_id, *args,
               "-s", f"ARCHIVE_URI={archive_uri}"]  # fmt: skip
    for name, value in (settings or {}).items():
        command += ["-s", f"{name}={value}"]
    completed = subprocess.run(
        command, cwd=workdir, env=scrapy_env(), capture_output=True, text=True, timeout=300
    )
    assert_no_warning_raised(completed.stdout + completed.stderr)
    return completed
