"""The WARC writer in a process of its own, so the crawl never waits on warcio, gzip or disk.

Building, digesting, gzipping and writing records costs about a third as much as parsing the
page. A thread would not take that off the crawl (the GIL); a second process does, on the
other core. The crawl sends each group of records as a picklable builder over a pipe and gets
a future; the writer process builds and writes the groups in the order sent (one file, one
writer) and answers with where each record landed, and with each file it closed.

Nothing piles up in memory: a pipe holds a few groups, and when the writer falls behind,
sending waits (the crawl slows down to the disk's pace). If the crawl process dies, the writer
sees the pipe close, writes what it has and closes its file; if both die, the next run repairs
the `.open` file (recovery.py).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import pickle
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from warcio.recordloader import ArcWarcRecord

from crawler.archive.files import RecordLocation, RotatingWarcWriter
from crawler.archive.records import CrawlInfo

logger = logging.getLogger(__name__)

RecordsBuilder = Callable[[], Sequence[ArcWarcRecord]]
ClosedCallback = Callable[[Path], None]

# Messages. To the writer: (job id, builder) or (job id, _CLOSE_FILE) or None to stop.
# From the writer: ("done", job id, result), ("failed", job id, error text), ("closed", path).
_CLOSE_FILE = "close-file"


class WriterFailed(RuntimeError):
    """The writer process could not write a group of records, or is gone."""


@dataclass(frozen=True)
class PendingRecord:
    """A response record on its way into a WARC file.

    Its id is known at once (the page's metadata record names it); where it lands is known
    when the writer has written it.
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


@dataclass(frozen=True)
class WriterSpec:
    """What the writer process needs to open its `RotatingWarcWriter` (all picklable)."""

    spool_dir: Path
    info: CrawlInfo
    prefix: str
    max_size: int


class BackgroundWarcWriter:
    """The crawl's side of the writer process.

    `on_closed(path)` is called, on a thread of this class's own, for every file the writer
    closes, before the future of the job that closed it is resolved.
    """

    def __init__(self, spec: WriterSpec, on_closed: ClosedCallback):
        context = multiprocessing.get_context("spawn")
        jobs_out, jobs_in = context.Pipe(duplex=False)
        results_out, results_in = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_writer_main,
            args=(jobs_out, results_in, spec),
            name="warc-writer",
            # Stopped at exit if the crawl ends without shutdown() (its file is then
            # repaired by the next run).
            daemon=True,
        )
        self._process.start()
        # The writer's ends belong to it now: holding them here would keep the pipes open
        # after the writer died (or the writer waiting after the crawl died).
        jobs_out.close()
        results_in.close()
        self._jobs = jobs_in
        self._results = results_out
        self._on_closed = on_closed
        # Shared with the reader thread without a lock: single dict operations are atomic,
        # and a lock here would make the crawl wait whenever the reader is preempted.
        self._futures: dict[int, Future] = {}
        self._job_ids = itertools.count()
        self._gone: str | None = None
        self._reader = threading.Thread(target=self._read_results, name="warc-results", daemon=True)
        self._reader.start()

    @property
    def gone(self) -> bool:
        """Whether the writer process has exited."""
        return self._gone is not None

    def submit(self, build: RecordsBuilder) -> Future[list[RecordLocation]]:
        """Have the writer call `build()` and write the records it returns, in order."""
        return self._send(build)

    def close_file(self) -> Future[None]:
        """Close the file being written once everything sent before is in it."""
        return self._send(_CLOSE_FILE)

    def shutdown(self, timeout: float = 60.0) -> None:
        """Stop the writer after what was sent (it closes its file) and wait for it."""
        if self._gone is None:
            try:
                self._jobs.send_bytes(pickle.dumps(None))
            except OSError:
                pass  # already gone; the reader has failed its futures
        self._jobs.close()
        self._process.join(timeout)
        if self._process.is_alive():
            logger.error("WARC writer did not stop within %.0f s; terminating it", timeout)
            self._process.terminate()
            self._process.join()
        self._reader.join(timeout)

    def _send(self, job) -> Future:
        future: Future = Future()
        if self._gone is not None:
            future.set_exception(WriterFailed(self._gone))
            return future
        job_id = next(self._job_ids)
        try:
            message = pickle.dumps((job_id, job), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # pickle raises several kinds (AttributeError for a lambda)
            future.set_exception(WriterFailed(f"records builder {job!r} cannot be sent: {exc}"))
            return future
        self._futures[job_id] = future
        try:
            self._jobs.send_bytes(message)
        except OSError as exc:
            if self._futures.pop(job_id, None) is not None:
                future.set_exception(WriterFailed(f"could not hand records to the writer: {exc}"))
        return future

    def _read_results(self) -> None:
        while True:
            try:
                message = pickle.loads(self._results.recv_bytes())
            except (EOFError, OSError):
                break
            kind = message[0]
            if kind == "closed":
                self._on_closed(Path(message[1]))
                continue
            future = self._futures.pop(message[1])
            if kind == "done":
                future.set_result(message[2])
            else:
                future.set_exception(WriterFailed(message[2]))
        # The pipe closed: the writer stopped (shutdown) or died. Sends from now on fail.
        self._process.join(5)
        self._gone = f"the WARC writer process exited (code {self._process.exitcode})"
        while True:
            try:
                _job_id, future = self._futures.popitem()
            except KeyError:
                break
            future.set_exception(WriterFailed(self._gone))


def _writer_main(jobs, results, spec: WriterSpec) -> None:
    """The writer process: write every group it is sent, in order, until told to stop."""
    # Ctrl-C reaches the whole process group; the crawl stops gracefully and still has
    # records to write, so only the crawl decides when the writer stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def report_closed(path: Path) -> None:
        try:
            results.send_bytes(pickle.dumps(("closed", str(path))))
        except OSError:
            pass  # the crawl is gone; the next run publishes the closed file from the spool

    writer = RotatingWarcWriter(
        spec.spool_dir,
        spec.info,
        prefix=spec.prefix,
        max_size=spec.max_size,
        on_closed=report_closed,
    )
    try:
        while True:
            try:
                message = pickle.loads(jobs.recv_bytes())
            except EOFError:
                return  # the crawl is gone: close the file below
            if message is None:
                return
            job_id, job = message
            try:
                result = writer.close() if job == _CLOSE_FILE else writer.write(job())
            except Exception as exc:  # reported to the crawl, which logs and counts it
                answer = ("failed", job_id, f"{type(exc).__name__}: {exc}")
            else:
                answer = ("done", job_id, result)
            try:
                results.send_bytes(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))
            except OSError:
                return  # the crawl is gone
    finally:
        writer.close()
        results.close()
