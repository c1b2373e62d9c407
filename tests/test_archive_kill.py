"""A crawl killed with SIGKILL midway, then run again: nothing archived is lost.

What must survive is what the WARC writer had acknowledged: the writer hands each batch of
records to the operating system before it answers, and only then does the crawl take an
item through its pipelines (WarcPointerPipeline waits for the answer) and log it as
scraped. So the bound is observed, not guessed: every item the crawl's log shows scraped
before the kill points at a record the next run keeps, and every whole record the spool
held when the crawl died is kept. What was in flight (fetched, not yet written) may be
lost, however many exchanges a busy machine had in flight.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest
from warcio.archiveiterator import ArchiveIterator

from fixture_portal import FixturePortal, build_site
from tests.crawl import crawl_command, run_crawl
from tests.helpers import wait_for, warc_writer_of, whole_records
from tests.test_archive_records import assert_fastwarc_digests, assert_warcio_check

KILLED = "killed-crawl"
# Scrapy's DEBUG line for an item that went through every pipeline: the item follows, its
# `warc` field last (the pointer the writer's answer gave).
SCRAPED = re.compile(r"'record_id': '(<urn:uuid:[0-9a-f-]+>)'\}\)$", re.M)


def acknowledged(log: Path) -> set[str]:
    """Record ids of the items the crawl's log shows scraped: records the writer had
    acknowledged (log lines reach the file as they are logged)."""
    return set(SCRAPED.findall(log.read_text(encoding="utf-8"))) if log.exists() else set()


def stored_records(paths) -> dict[str, tuple[str, str]]:
    found = {}
    for path in paths:
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                headers = record.rec_headers
                found[headers.get_header("WARC-Record-ID")] = (
                    record.rec_type,
                    headers.get_header("WARC-Target-URI"),
                )
    return found


def _dead(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


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
    log = tmp_path / f"{KILLED}.log"
    with FixturePortal(site, theme="classic") as portal:
        command, env = crawl_command(
            portal.base_url,
            tmp_path,
            crawl_id=KILLED,
            # One request at a time, spaced, so that "midway" lasts long enough to hit;
            # DEBUG: the log shows each item scraped.
            settings={"CONCURRENT_REQUESTS": 1, "DOWNLOAD_DELAY": 0.05, "LOG_LEVEL": "DEBUG"},
        )
        process = subprocess.Popen(command, cwd=tmp_path, env=env, start_new_session=True)
        try:
            wait_for(
                lambda: (
                    len(portal.request_log) >= 40
                    and warc_writer_of(process.pid) is not None
                    and acknowledged(log)
                ),
                "40 requests and an item scraped",
            )
            writer = warc_writer_of(process.pid)
        finally:
            if kill_group:
                os.killpg(process.pid, signal.SIGKILL)
            else:
                process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        # What the writer had acknowledged when the crawl died (and logged no more since).
        acked = acknowledged(log)
        spool = tmp_path / "spool" / KILLED
        if kill_group:
            # Dead (a zombie until reaped): its file is what it had handed to the system.
            wait_for(lambda: _dead(writer), "the writer to die", 30)
            on_disk = whole_records(spool)
            left = list(spool.glob("*.warc.gz.open"))
            assert left, "the killed crawl left no open WARC file in the spool"
        else:
            # The writer goes on: its file only grows (and is then closed) from here.
            on_disk = whole_records(spool)
            wait_for(lambda: not list(spool.glob("*.warc.gz.open")), "the writer to close its file")
            left = list(spool.glob("*.warc.gz"))
            assert left, "the writer left no closed WARC file in the spool"
        left_names = {path.name.removesuffix(".open") for path in left}
        served_before_rerun = list(portal.request_log)

        second = run_crawl(portal.base_url, tmp_path, crawl_id=rerun_id)
        served_by_rerun = len(portal.request_log) - len(served_before_rerun)
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
    # Every byte once: no WACZ unless asked for (WACZ_ENABLED, `scrapy wacz`).
    assert not (tmp_path / "archive" / "wacz").exists()

    recovered = sorted(tmp_path / "archive" / "warcs" / KILLED / name for name in left_names)
    for path in recovered:
        assert_warcio_check(path)
        assert_fastwarc_digests(path)
    kept = stored_records(recovered)
    # Nothing the writer had acknowledged is lost...
    assert acked <= {rid for rid, (kind, _uri) in kept.items() if kind == "response"}
    # ...nor any whole record it had written by then; after a kill of both, the repair kept
    # exactly those (a torn last record is cut).
    assert on_disk.keys() <= kept.keys()
    if kill_group:
        assert kept == on_disk
    # And every response kept is an exchange the portal served.
    served = Counter(target for _method, target, _headers in served_before_rerun)
    responses = Counter(_target(uri) for kind, uri in kept.values() if kind == "response")
    assert not responses - served, responses - served


def _target(uri: str) -> str:
    parts = urlsplit(uri)
    return parts.path + (f"?{parts.query}" if parts.query else "")
