"""The crawl's items feed in its spool: written as ``items.jsonl.gz.open``, renamed when whole.

Scrapy's feed exporter writes the crawl's items (JSON lines, gzip) into the crawl's spool
directory, whatever the archive store; the publisher stores the file with the crawl's other
files, so the items of a crawl that dies are in the spool like its WARCs. While the crawl
runs the file is ``items.jsonl.gz.open``: only a file the exporter closed is renamed to
``items.jsonl.gz`` and stored. A crawl killed outright leaves the ``.open`` file cut off
mid-stream; the next run repairs it to its last whole line (``repair_items``), never storing
a cut-off file as whole.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import queue
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from scrapy.extensions.feedexport import FeedExporter, FileFeedStorage

from crawler.atomic import atomic_file, rename_durably
from crawler.layout import OPEN_SUFFIX

logger = logging.getLogger(__name__)

# The feed option that marks the crawl's own items feed (crawler/addon.py).
SPOOL_OPTION = "archive_spool_items"
_CHUNK = 1024 * 1024
# Items compressed so far reach the operating system this often (seconds): a crawl killed
# outright loses at most the last moments' items (their articles are fetched again).
FLUSH_INTERVAL = 1.0
# Lines waiting for the compressing thread at most (an item's line is some tens of KB).
QUEUE_LINES = 64


class ThreadedGzipPlugin:
    """Scrapy's gzip post-processing moved off the crawl's thread: each line the exporter
    writes goes through a bounded queue to a thread that compresses it (zlib releases the GIL
    while it deflates) and writes it to the file. What is written reaches the operating system
    with a sync flush at most ``FLUSH_INTERVAL`` seconds later, even if no line follows: those
    lines can be read back from the file even if the crawl is killed.

    Feed options: ``gzip_compresslevel`` (the crawl's: ``ITEMS_FEED_GZIP_LEVEL``),
    ``gzip_mtime``, ``gzip_filename``, as Scrapy's ``GzipPlugin``. A full queue makes the
    crawl wait rather than hold more than ``QUEUE_LINES`` lines in memory."""

    def __init__(self, file: IO[bytes], feed_options: dict[str, Any]) -> None:
        self.file = file
        self.gzipfile = gzip.GzipFile(
            fileobj=file,
            mode="wb",
            compresslevel=feed_options.get("gzip_compresslevel", 6),
            mtime=feed_options.get("gzip_mtime"),
            filename=feed_options.get("gzip_filename"),
        )
        self._queue: queue.Queue[bytes | threading.Event | None] = queue.Queue(QUEUE_LINES)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._compress, name="items-gzip", daemon=True)
        self._thread.start()

    def write(self, data: bytes) -> int:
        if self._error is not None:
            raise OSError(f"compressing the items feed failed: {self._error}") from self._error
        self._queue.put(bytes(data))
        return len(data)

    def sync(self, timeout: float) -> bool:
        """Whether every line written so far reached the operating system within
        ``timeout`` seconds (a sync flush now, not ``FLUSH_INTERVAL`` later)."""
        if self._error is not None or not self._thread.is_alive():
            return False
        flushed = threading.Event()
        try:
            self._queue.put(flushed, timeout=timeout)
        except queue.Full:
            return False
        return flushed.wait(timeout)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise OSError(f"compressing the items feed failed: {self._error}") from self._error
        self.gzipfile.close()

    def _compress(self) -> None:
        dirty = False
        flushed = time.monotonic()
        try:
            while True:
                try:
                    data = self._queue.get(timeout=FLUSH_INTERVAL)
                except queue.Empty:
                    data = b""
                if data is None:
                    return
                if isinstance(data, threading.Event):  # sync(): flush now, say so
                    if dirty:
                        self.gzipfile.flush(zlib.Z_SYNC_FLUSH)
                        dirty, flushed = False, time.monotonic()
                    data.set()
                    continue
                if data:
                    self.gzipfile.write(data)
                    dirty = True
                now = time.monotonic()
                if dirty and now - flushed >= FLUSH_INTERVAL:
                    self.gzipfile.flush(zlib.Z_SYNC_FLUSH)
                    dirty = False
                    flushed = now
        except BaseException as error:  # reported to the crawl by the next write or close
            logger.error("compressing the items feed failed", exc_info=True)
            self._error = error
            while self._queue.get() is not None:
                pass  # let the crawl's puts through until close()


def sync_items_feeds(crawler, timeout: float = 5.0) -> bool:
    """Whether every item exported so far by the crawl's gzipped feeds reached the operating
    system (each flushed now; see ``ThreadedGzipPlugin.sync``)."""
    exporter = crawler.get_extension(FeedExporter)
    synced = True
    for slot in getattr(exporter, "slots", ()):  # Scrapy's feed slots (no public accessor)
        plugin = getattr(slot.file, "head_plugin", None)  # its PostProcessingManager's
        if isinstance(plugin, ThreadedGzipPlugin):
            synced = plugin.sync(timeout) and synced
    return synced


class SpoolItemsStorage(FileFeedStorage):
    """Scrapy's file feed storage (registered for ``file://``); for the crawl's own items
    feed (feed option ``SPOOL_OPTION``) the file is written under ``.open`` and renamed,
    durably, once the exporter has closed it. Any other file feed is left as Scrapy has it."""

    def __init__(self, uri: str, *, feed_options: dict[str, Any] | None = None):
        options = feed_options or {}
        self.final_path: Path | None = None
        if options.get(SPOOL_OPTION):
            options = {**options, "overwrite": True}
        super().__init__(uri, feed_options=options)
        if options.get(SPOOL_OPTION):
            self.final_path = Path(self.path)
            self.path = str(self.final_path) + OPEN_SUFFIX

    def store(self, file: IO[bytes]) -> None:
        if self.final_path is None:
            return super().store(file)
        file.flush()
        os.fsync(file.fileno())
        file.close()
        rename_durably(Path(self.path), self.final_path)
        return None


@dataclass(frozen=True)
class RepairedItems:
    path: Path
    kept: int  # whole items kept
    dropped: int  # whole items dropped: their WARC record is not in the archive
    cut: int  # bytes of a last, cut-off line (or of an unreadable tail) left out


def repair_items(open_path: Path, record_kept: Callable[[dict], bool]) -> RepairedItems:
    """Write the whole lines of a cut-off ``items.jsonl.gz.open`` to ``items.jsonl.gz`` (a
    whole gzip file) and remove the ``.open`` file. Items for which ``record_kept(warc)`` is
    false (their response record was cut off the WARC) are left out: an item must point at
    its capture. Streams: the file may be large."""
    final_path = open_path.with_name(open_path.name.removesuffix(OPEN_SUFFIX))
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    kept = dropped = 0
    tail = b""
    with open(open_path, "rb") as source, atomic_file(final_path, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", filename="", mtime=0) as out:
            while not inflater.eof and (chunk := source.read(_CHUNK)):
                try:
                    data = tail + inflater.decompress(chunk)
                except zlib.error as exc:
                    logger.warning("%s: unreadable after this point (%s)", open_path, exc)
                    break
                *lines, tail = data.split(b"\n")
                for line in lines:
                    if not line.strip():
                        continue
                    if _keep(line, record_kept):
                        out.write(line + b"\n")
                        kept += 1
                    else:
                        dropped += 1
            if inflater.eof and tail.strip():
                # A whole stream that does not end with a newline: its last line is whole.
                if _keep(tail, record_kept):
                    out.write(tail + b"\n")
                    kept += 1
                else:
                    dropped += 1
                tail = b""
    open_path.unlink()
    logger.warning(
        "Recovered the items a killed crawl left in %s: %d kept, %d without their WARC record "
        "left out, %d bytes of a cut-off line left out",
        final_path,
        kept,
        dropped,
        len(tail),
    )
    return RepairedItems(final_path, kept, dropped, len(tail))


def _keep(line: bytes, record_kept: Callable[[dict], bool]) -> bool:
    try:
        item = json.loads(line)
    except ValueError:
        return False
    warc = item.get("warc") if isinstance(item, dict) else None
    return not isinstance(warc, dict) or record_kept(warc)
