"""The items feed's gzip off the crawl's thread (crawler/publishing/items_file.py): what the
exporter wrote is readable from the file within about a second, without another write and
before the feed is closed, and the closed file is one whole gzip stream at the level asked."""

from __future__ import annotations

import gzip
import zlib

from crawler.publishing.items_file import ThreadedGzipPlugin
from tests.helpers import wait_for

LINES = [f'{{"n": {n}, "body": "{"Hải Phòng " * 50}"}}\n'.encode() for n in range(200)]


def readable_lines(path) -> list[bytes]:
    """The whole lines a reader gets from a gzip file that may still be written."""
    data = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS).decompress(path.read_bytes())
    return data.splitlines(True)[: data.count(b"\n")]


def test_lines_reach_the_file_within_a_second_and_close_makes_it_whole(tmp_path):
    path = tmp_path / "items.jsonl.gz.open"
    with open(path, "wb") as file:
        plugin = ThreadedGzipPlugin(file, {"gzip_compresslevel": 6, "gzip_mtime": 0})
        for line in LINES:
            assert plugin.write(line) == len(line)
        # No further write, not closed: the sync flush comes from the thread's own clock.
        wait_for(lambda: readable_lines(path) == LINES, "the lines flushed to the file")
        plugin.close()
    assert gzip.decompress(path.read_bytes()).splitlines(True) == LINES
    assert not plugin._thread.is_alive()


def test_the_level_asked_is_the_level_used(tmp_path):
    sizes = {}
    for level in (1, 9):
        path = tmp_path / f"{level}.gz"
        with open(path, "wb") as file:
            plugin = ThreadedGzipPlugin(file, {"gzip_compresslevel": level})
            for line in LINES:
                plugin.write(line)
            plugin.close()
        sizes[level] = path.stat().st_size
    assert sizes[9] < sizes[1]


def test_sync_puts_every_line_written_in_the_file_at_once(tmp_path):
    # What a distributed worker does when idle, before it forgets its requests in flight.
    path = tmp_path / "items.jsonl.gz.open"
    with open(path, "wb") as file:
        plugin = ThreadedGzipPlugin(file, {"gzip_compresslevel": 6, "gzip_mtime": 0})
        for line in LINES:
            plugin.write(line)
        assert plugin.sync(timeout=10)
        assert readable_lines(path) == LINES  # now, not a flush interval later
        plugin.close()
    assert not plugin.sync(timeout=1)  # closed: nothing can be said of it
