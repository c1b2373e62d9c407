"""``scrapy demo`` as a newcomer runs it: one screen, the full log in the file it names."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tests.crawl import REPO

# What a screen holds; the log of the same crawl is about 200 lines.
SCREEN_LINES = 15


def run_demo(workdir: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """``scrapy demo`` from a work directory, the project found through its settings module
    (as in the image), with none of the caller's archive, spool or log settings."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if name not in ("ARCHIVE_URI", "WARC_SPOOL_DIR", "CRAWL_ID", "ARCHIVER_LOG_JSON")
    }
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "demo", *args],
        cwd=workdir,
        env={
            **inherited,
            "SCRAPY_SETTINGS_MODULE": "settings.default",
            "PYTHONPATH": str(REPO),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def named(screen: str, label: str) -> str:
    match = re.search(rf"^demo: {label} +(\S+)", screen, re.MULTILINE)
    assert match, f"the screen names no {label}:\n{screen}"
    return match.group(1)


def local_path(uri: str) -> Path:
    return Path(unquote(urlsplit(uri).path))


def test_demo_prints_one_screen_and_logs_to_the_file_it_names(tmp_path):
    # JSON log lines asked for, as compose.yaml's crawler service does: the screen stays clean.
    result = run_demo(tmp_path, ARCHIVER_LOG_JSON="1")
    screen = result.stdout
    assert result.returncode == 0, screen + result.stderr
    assert result.stderr == ""
    lines = screen.splitlines()
    assert len(lines) <= SCREEN_LINES, screen
    assert all(line.startswith("demo: ") for line in lines), screen

    # Every article of the fixture portal, each equal to its ground truth.
    match = re.search(r"^demo: (\d+) article items; (\d+) of (\d+) equal", screen, re.MULTILINE)
    assert match, screen
    items, exact, expected = map(int, match.groups())
    assert items == exact == expected > 100

    replay = re.search(r"^demo: replay +\.venv/bin/scrapy replay --crawl (\S+)$", screen, re.M)
    assert replay, screen
    crawl_id = replay.group(1)
    assert re.search(
        r"^demo: look up +\.venv/bin/scrapy show http://127\.0\.0\.1:\d+/\S+\.html$", screen, re.M
    )
    # Every byte once: no WACZ unless asked for; the screen says how to make one.
    assert f"demo: WACZ     .venv/bin/scrapy wacz {crawl_id} (made on request)" in lines, screen
    for label in ("items", "manifest"):
        path = local_path(named(screen, label))
        assert path.is_file() and path.is_relative_to(tmp_path / "archive"), (label, path)
        assert crawl_id in path.name or crawl_id in path.parts, (label, path)

    # The log: Scrapy's text lines, the stats dump included, in the file the screen names.
    log_file = tmp_path / named(screen, "log")
    assert log_file.parent == tmp_path / "logs" and log_file.name == f"demo-{crawl_id}.log"
    log = log_file.read_text(encoding="utf-8")
    assert "[scrapy.statscollectors] INFO: Dumping Scrapy stats" in log
    assert "[scrapy.core.engine] INFO: Spider closed (finished)" in log
    assert f"crawl {crawl_id} finished (finished)" in log
    assert len(log.splitlines()) > 5 * SCREEN_LINES


def test_demo_that_cannot_crawl_says_so_and_names_its_log(tmp_path):
    result = run_demo(tmp_path, "-s", "CRAWL_ID=../elsewhere")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "CRAWL_ID: one name of letters" in result.stderr
    log_name = re.search(r"did not run \(exit status 3\); see (\S+)$", result.stdout, re.M)
    assert log_name, result.stdout
    log = (tmp_path / log_name.group(1)).read_text(encoding="utf-8")
    assert "CRAWL_ID: one name of letters" in log
    assert not (tmp_path / "elsewhere").exists() and not (tmp_path / "archive").exists()
