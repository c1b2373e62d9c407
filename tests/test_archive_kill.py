"""A crawl killed with SIGKILL midway, then run again: nothing archived is lost."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.fixture_portal import FixturePortal, build_site
from tests.crawl import crawl_command, run_crawl
from tests.test_archive_records import assert_fastwarc_digests, assert_warcio_check

KILLED = "killed-crawl"


def wait_for(condition, what: str, deadline: float = 180.0) -> None:
    """Poll ``condition`` until it holds; fail after ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def response_records(path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for record in ArchiveIterator(fh) if record.rec_type == "response")


@pytest.mark.parametrize("rerun_id", ["after-kill", KILLED], ids=["new-id", "same-id"])
def test_sigkill_midway_then_rerun_keeps_every_complete_record(tmp_path, rerun_id):
    site = build_site(seed=1)
    with FixturePortal(site, theme="classic") as portal:
        command, env = crawl_command(
            portal.base_url,
            tmp_path,
            crawl_id=KILLED,
            # One request at a time, spaced, so that "midway" lasts long enough to hit.
            settings={"CONCURRENT_REQUESTS": 1, "DOWNLOAD_DELAY": 0.05},
        )
        process = subprocess.Popen(command, cwd=tmp_path, env=env)
        try:
            wait_for(lambda: len(portal.request_log) >= 40, "40 requests")
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        served_before_kill = len(portal.request_log)
        killed_pid = process.pid
        open_files = list((tmp_path / "spool" / KILLED).glob("*.warc.gz.open"))
        assert open_files, "the killed crawl left no open WARC file in the spool"

        second = run_crawl(portal.base_url, tmp_path, crawl_id=rerun_id)
    assert second.returncode == 0, second.log[-3000:]
    assert second.stats["archive/files/repaired"] >= 1
    assert not (tmp_path / "spool" / KILLED).exists()
    assert (tmp_path / "archive" / "wacz" / f"{KILLED}.wacz").exists()

    recovered = [
        path
        for path in sorted((tmp_path / "archive" / "warcs" / KILLED).glob("*.warc.gz"))
        if path.name.endswith(f"-{killed_pid}.warc.gz")
    ]
    assert recovered
    total = 0
    for path in recovered:
        assert_warcio_check(path)
        assert_fastwarc_digests(path)
        total += response_records(path)
    # All but the exchange in flight (at most one at a time) made it.
    assert served_before_kill - 2 <= total <= served_before_kill
