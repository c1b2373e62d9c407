"""A crawl killed with SIGKILL midway, then run again: nothing archived is lost."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest
from warcio.archiveiterator import ArchiveIterator

from fixture_portal import FixturePortal, build_site
from tests.crawl import crawl_command, run_crawl
from tests.helpers import wait_for
from tests.test_archive_records import assert_fastwarc_digests, assert_warcio_check

KILLED = "killed-crawl"


def response_records(path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for record in ArchiveIterator(fh) if record.rec_type == "response")


@pytest.mark.parametrize(
    ("rerun_id", "kill_group"),
    [("after-kill", True), (KILLED, True), ("after-kill", False)],
    ids=["all-new-id", "all-same-id", "crawler-only"],
)
def test_sigkill_midway_then_rerun_keeps_every_complete_record(tmp_path, rerun_id, kill_group):
    """``kill_group``: the crawl and its WARC writer process die together (a container's
    OOM kill), leaving an ``.open`` file to repair; otherwise only the crawl dies and the
    writer closes its file when it sees the crawl gone."""
    site = build_site(seed=1)
    with FixturePortal(site, theme="classic") as portal:
        command, env = crawl_command(
            portal.base_url,
            tmp_path,
            crawl_id=KILLED,
            # One request at a time, spaced, so that "midway" lasts long enough to hit.
            settings={"CONCURRENT_REQUESTS": 1, "DOWNLOAD_DELAY": 0.05},
        )
        process = subprocess.Popen(command, cwd=tmp_path, env=env, start_new_session=True)
        try:
            wait_for(lambda: len(portal.request_log) >= 40, "40 requests")
        finally:
            if kill_group:
                os.killpg(process.pid, signal.SIGKILL)
            else:
                process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        served_before_kill = len(portal.request_log)
        spool = tmp_path / "spool" / KILLED
        if kill_group:
            left = list(spool.glob("*.warc.gz.open"))
            assert left, "the killed crawl left no open WARC file in the spool"
        else:
            wait_for(lambda: not list(spool.glob("*.warc.gz.open")), "the writer to close its file")
            left = list(spool.glob("*.warc.gz"))
            assert left, "the writer left no closed WARC file in the spool"
        left_names = {path.name.removesuffix(".open") for path in left}

        served_before_rerun = len(portal.request_log)
        second = run_crawl(portal.base_url, tmp_path, crawl_id=rerun_id)
        served_by_rerun = len(portal.request_log) - served_before_rerun
    if rerun_id == KILLED:
        # The leftovers are stored first (with a manifest saying they were recovered); then
        # the id is taken: a second run under it would overwrite the first's items.
        assert second.returncode == 3, second.log[-3000:]
        assert served_by_rerun == 0
        assert "CRAWL_ID 'killed-crawl' is taken" in second.log
        assert second.manifest["finish_reason"] == "unfinished: recovered from the spool"
    else:
        assert second.returncode == 0, second.log[-3000:]
        if kill_group:
            assert second.stats["archive/files/repaired"] >= 1
        else:
            assert "archive/files/repaired" not in second.stats
        assert second.stats["archive/files/recovered"] == len(left_names)
    assert not spool.exists()
    assert (tmp_path / "archive" / "wacz" / f"{KILLED}.wacz").exists()

    recovered = sorted(tmp_path / "archive" / "warcs" / KILLED / name for name in left_names)
    total = 0
    for path in recovered:
        assert_warcio_check(path)
        assert_fastwarc_digests(path)
        total += response_records(path)
    # All but the exchange in flight (at most one at a time) made it.
    assert served_before_kill - 2 <= total <= served_before_kill
