"""The WARC writer process: order, locations, closed files, and what happens when it dies."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from functools import partial
from io import BytesIO
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.archive.cdxj import cdxj_name
from crawler.archive.records import build_exchange_records
from crawler.archive.writer import BackgroundWarcWriter, WriterFailed, WriterSpec
from fixture_portal import FixturePortal, build_site, expected_items
from tests.crawl import crawl_command, run_crawl
from tests.helpers import run_in_own_loop, wait_for, warc_writer_of
from tests.test_archive_records import (
    CRAWL_INFO,
    assert_fastwarc_digests,
    assert_warcio_check,
    make_exchange,
)

TIMEOUT = 60


def with_writer(test):
    """Run `await test(writer)` on an event loop, as the crawl uses the writer: 64 KiB files,
    the files it closed gathered in `writer.closed`."""

    def run(tmp_path):
        async def main():
            closed: list[Path] = []
            spec = WriterSpec(tmp_path / "spool", CRAWL_INFO, prefix="test", max_size=64 * 1024)
            writer = BackgroundWarcWriter(spec, on_closed=closed.append)
            writer.closed = closed
            try:
                await asyncio.wait_for(test(writer), TIMEOUT)
            finally:
                writer.shutdown()

        run_in_own_loop(main(), timeout=None)

    run.__name__ = test.__name__
    return run


@with_writer
async def test_records_land_in_order_and_where_the_writer_says(writer):
    # Incompressible 4 KB bodies under Content-Type octet-stream: 40 of them fill 64 KiB files.
    exchanges = [
        make_exchange(
            url=f"https://example.org/bai-{n}.bin",
            body=os.urandom(4000),
            response_headers=[
                ("Content-Type", "application/octet-stream"),
                ("Content-Length", "4000"),
            ],
        )
        for n in range(40)
    ]
    futures = [writer.submit(partial(build_exchange_records, data)) for data in exchanges]
    locations = await asyncio.gather(*futures)
    await writer.close_file()
    closed = list(writer.closed)
    # 64 KiB files: the writer rotated, and said so for every file it closed.
    assert len(closed) >= 2
    by_name = {path.name: path for path in closed}
    previous: tuple[str, int] | None = None
    for data, (response, request) in zip(exchanges, locations, strict=True):
        assert response.filename == request.filename in by_name
        with open(by_name[response.filename], "rb") as warc:
            warc.seek(response.offset)
            member = warc.read(response.length)
        record = next(iter(ArchiveIterator(BytesIO(member))))
        assert record.rec_type == "response"
        assert record.rec_headers.get_header("WARC-Target-URI") == data.url
        assert record.rec_headers.get_header("WARC-Record-ID") == response.record_id
        # Submitted order is written order.
        if previous is not None and previous[0] == response.filename:
            assert response.offset > previous[1]
        previous = (response.filename, response.offset)
    for path in closed:
        assert_warcio_check(path)
        assert_fastwarc_digests(path)
        # Each file was indexed by the writer as it wrote it, before the crawl heard of it.
        assert path.with_name(cdxj_name(path)).exists()


@with_writer
async def test_a_builder_that_fails_fails_its_future_only(writer):
    def broken_build():  # a nested function does not pickle: the send itself fails
        return []

    unsendable = writer.submit(broken_build)
    failing = writer.submit(partial(build_exchange_records, "not exchange data"))
    good = writer.submit(partial(build_exchange_records, make_exchange()))
    with pytest.raises(WriterFailed, match="cannot be sent"):
        await unsendable
    with pytest.raises(WriterFailed, match="AttributeError"):
        await failing
    assert (await good)[0].length > 0
    assert not writer.gone


@with_writer
async def test_when_the_writer_process_dies_every_waiting_future_fails(writer):
    await writer.submit(partial(build_exchange_records, make_exchange()))
    os.kill(writer._process.pid, signal.SIGKILL)  # a real death, as the OOM killer would
    # Sent before the loop hears of the death: fails when it does, or at the send.
    waiting = writer.submit(partial(build_exchange_records, make_exchange()))
    with pytest.raises(WriterFailed):
        await waiting
    while not writer.gone:  # the closed pipe is read on this loop
        await asyncio.sleep(0.01)
    later = writer.submit(partial(build_exchange_records, make_exchange()))
    with pytest.raises(WriterFailed, match="exited"):
        await later


def test_a_crawl_whose_writer_dies_stops_and_the_next_run_keeps_what_was_written(tmp_path):
    site = build_site(seed=1)
    with FixturePortal(site, theme="classic") as portal:
        command, env = crawl_command(
            portal.base_url,
            tmp_path,
            crawl_id="writer-killed",
            settings={"CONCURRENT_REQUESTS": 1, "DOWNLOAD_DELAY": 0.05},
        )
        process = subprocess.Popen(command, cwd=tmp_path, env=env)
        try:
            wait_for(
                lambda: len(portal.request_log) >= 30 and warc_writer_of(process.pid) is not None,
                "the crawl to get going",
                TIMEOUT,
            )
            warc_writer_of(process.pid).kill()
            # Stopped before its end: exit status 6 (crawler/commands/crawl.py).
            assert process.wait(timeout=TIMEOUT) == 6
        finally:
            process.kill()
        served = len(portal.request_log)
        log = (tmp_path / "writer-killed.log").read_text(encoding="utf-8")
        assert "the WARC writer process exited" in log
        assert "stopping the crawl" in log
        manifest = tmp_path / "archive" / "crawls" / "writer-killed" / "manifest.json"
        stopped = json.loads(manifest.read_text(encoding="utf-8"))
        assert stopped["finish_reason"] == "archive_failed"
        # It stopped: far from the whole portal.
        assert served < len(expected_items(site, theme="classic", base_url=portal.base_url))
        # The crawl mended the file its writer left open and stored it: the manifest lists
        # it, nothing is left in the spool.
        assert stopped["stats"]["archive/files/repaired"] == 1
        warcs = [f["key"] for f in stopped["files"] if f["key"].startswith("warcs/")]
        assert warcs and all((tmp_path / "archive" / key).is_file() for key in warcs)
        assert not (tmp_path / "spool" / "writer-killed").exists()

        second = run_crawl(portal.base_url, tmp_path, crawl_id="after-writer-killed")
    assert second.returncode == 0, second.log[-3000:]
    assert "archive/files/repaired" not in second.stats
    # What the stopped crawl's manifest lists is what it left, whole (the list is not empty).
    left = (tmp_path / "archive" / "warcs" / "writer-killed").glob("*.warc.gz")
    assert sorted(path.relative_to(tmp_path / "archive").as_posix() for path in left) == sorted(
        warcs
    )
    for key in warcs:
        assert_warcio_check(tmp_path / "archive" / key)
        assert assert_fastwarc_digests(tmp_path / "archive" / key) > 1
