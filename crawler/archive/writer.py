"""The WARC writer on a thread of its own, so the crawl never waits on gzip or the disk.

Building a record, digesting and gzipping it and writing it out cost about as much as parsing
the page; on the reactor thread that is throughput lost. One worker thread keeps the records
in the order they were submitted (one file is written by one thread), zlib and hashlib let go
of the GIL while they work, and a bounded number of pending jobs keeps memory flat: when the
disk falls behind, `submit` waits for a free slot.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from warcio.recordloader import ArcWarcRecord

from crawler.archive.files import RecordLocation, RotatingWarcWriter

logger = logging.getLogger(__name__)

RecordsBuilder = Callable[[], Sequence[ArcWarcRecord]]


@dataclass(frozen=True)
class PendingRecord:
    """A response record on its way into a WARC file.

    Its id is known at once (the page's metadata record names it); where it lands is known
    when the writer thread has written it.
    """

    record_id: str
    written: Future[list[RecordLocation]]

    async def pointer(self) -> dict[str, str | int]:
        """The item's `warc` field: `length` bytes at `offset` of `filename`."""
        location = (await asyncio.wrap_future(self.written))[0]
        return {
            "filename": location.filename,
            "offset": location.offset,
            "length": location.length,
            "record_id": location.record_id,
        }


class BackgroundWarcWriter:
    """Runs a `RotatingWarcWriter` on one worker thread.

    `on_closed` of the wrapped writer is called on the worker thread: hand it something that
    is safe to call there (e.g. `reactor.callFromThread(...)`).
    """

    def __init__(self, writer: RotatingWarcWriter, max_pending: int):
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, got {max_pending}")
        self._writer = writer
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warc-writer")
        self._slots = threading.BoundedSemaphore(max_pending)

    def submit(self, build: RecordsBuilder) -> Future[list[RecordLocation]]:
        """Build and write one group of records (one exchange) in the worker thread."""
        self._slots.acquire()
        try:
            future = self._executor.submit(self._build_and_write, build)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(self._release)
        return future

    def close_file(self) -> Future[None]:
        """Close the file being written once everything submitted before is in it."""
        return self._executor.submit(self._writer.close)

    def shutdown(self) -> None:
        """Write what is pending, close the file and stop the thread (blocks)."""
        self._executor.submit(self._writer.close)
        self._executor.shutdown(wait=True)

    @property
    def spool_dir(self) -> Path:
        return self._writer.spool_dir

    def _build_and_write(self, build: RecordsBuilder) -> list[RecordLocation]:
        return self._writer.write(build())

    def _release(self, _future: Future) -> None:
        self._slots.release()
