"""The WARC writer in a process of its own, so the crawl never waits on warcio, gzip or disk.

Building, digesting, gzipping and writing records costs about a third as much as parsing the
page. A thread would not take that off the crawl (the GIL); a second process does, on the
other core. The crawl sends each group of records as a picklable builder over a pipe and gets
an asyncio future; the writer process builds and writes the groups in the order sent (one
file, one writer), indexes each file as it goes, and answers with where each record landed
and with each file it closed.

Nothing piles up in memory: a pipe holds a few groups, and when the writer falls behind,
sending waits (the crawl slows down to the disk's pace). If the crawl process dies, the writer
sees the pipe close, writes what it has and closes its file; if both die, the next run repairs
the `.open` file (recovery.py).
"""

from __future__ import annotations

import asyncio
import fcntl
import itertools
import logging
import multiprocessing
import pickle
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from warcio.recordloader import ArcWarcRecord

from crawler.archive.cdxj import IncrementalIndex, cdxj_name, index_warc
from crawler.archive.files import RecordLocation, RotatingWarcWriter, WarcFile
from crawler.archive.records import CrawlInfo

logger = logging.getLogger(__name__)

RecordsBuilder = Callable[[], Sequence[ArcWarcRecord]]
ClosedCallback = Callable[[Path], None]

# Messages go in batches (one pipe write and one wake-up for many jobs). To the writer: a
# list of (job id, builder or _CLOSE_FILE), pickled together, or None to stop. From the
# writer: a list of ("done", job id, result), ("failed", job id, error text), ("closed", path).
_CLOSE_FILE = "close-file"
# Jobs gathered in one reactor turn are sent together; never more than this many.
_MAX_BATCH = 64
_PIPE_SIZE = 1024 * 1024


class WriterFailed(RuntimeError):
    """The writer process could not write a group of records, or is gone."""


@dataclass(frozen=True)
class PendingRecord:
    """A response record on its way into a WARC file.

    Its id is known at once (the page's metadata record names it); where it lands is known
    when the writer has written it.
    """

    record_id: str
    written: asyncio.Future[list[RecordLocation]]

    async def pointer(self) -> dict[str, str | int]:
        """The item's `warc` field: `length` bytes at `offset` of `filename`."""
        location = (await self.written)[0]
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
    """The crawl's side of the writer process; made and used on the crawl's event loop.

    The writer's answers are read on that loop too (a reader thread would share the GIL with
    the crawl, and each of its wake-ups costs the crawl more than reading the answer does).
    `on_closed(path)` is called for every file the writer closes (and indexed), before the
    future of the job that closed it is resolved.
    """

    def __init__(self, spec: WriterSpec, on_closed: ClosedCallback):
        self._loop = asyncio.get_running_loop()  # RuntimeError outside a running loop
        context = multiprocessing.get_context("spawn")
        jobs_out, jobs_in = context.Pipe(duplex=False)
        results_out, results_in = context.Pipe(duplex=False)
        _widen(jobs_in)
        self._process = context.Process(
            target=_writer_main,
            args=(jobs_out, results_in, spec),
            name="warc-writer",
            # Stopped at exit if the crawl ends without shutdown() (its file is then
            # repaired by the next run).
            daemon=True,
        )
        with _main_script_hidden():
            self._process.start()
        # The writer's ends belong to it now: holding them here would keep the pipes open
        # after the writer died (or the writer waiting after the crawl died).
        jobs_out.close()
        results_in.close()
        self._jobs = jobs_in
        self._results = results_out
        self._on_closed = on_closed
        self._futures: dict[int, asyncio.Future] = {}
        self._job_ids = itertools.count()
        self._outbox: list[tuple[int, object]] = []
        self._gone: str | None = None
        self._loop.add_reader(self._results.fileno(), self._read_answers)

    @property
    def gone(self) -> bool:
        """Whether the writer process has exited."""
        return self._gone is not None

    def submit(self, build: RecordsBuilder) -> asyncio.Future[list[RecordLocation]]:
        """Have the writer call `build()` and write the records it returns, in order."""
        return self._send(build)

    def close_file(self) -> asyncio.Future[None]:
        """Close the file being written once everything sent before is in it."""
        future = self._send(_CLOSE_FILE)
        self._flush()
        return future

    def shutdown(self, timeout: float = 60.0) -> None:
        """Stop the writer after what was sent (it closes its file) and wait for it."""
        self._flush()
        if self._gone is None:
            try:
                self._jobs.send_bytes(pickle.dumps(None))
            except OSError:
                pass  # gone already; its end of the results pipe is closed too
        self._jobs.close()
        if self._gone is None:
            # Its last answers (the file it closes on stopping), read here: the loop is
            # not going to run them while this waits.
            self._loop.remove_reader(self._results.fileno())
            try:
                while self._results.poll(timeout):
                    self._answer(pickle.loads(self._results.recv_bytes()))
            except (EOFError, OSError):
                pass
        self._process.join(timeout)
        if self._process.is_alive():
            logger.error("WARC writer did not stop within %.0f s; killing it", timeout)
            self._process.kill()  # it ignores SIGTERM
            self._process.join()
        if self._gone is None:
            self._writer_exited()

    def _send(self, job) -> asyncio.Future:
        future = self._loop.create_future()
        if self._gone is not None:
            future.set_exception(WriterFailed(self._gone))
            return future
        job_id = next(self._job_ids)
        self._futures[job_id] = future
        self._outbox.append((job_id, job))
        if len(self._outbox) == 1:
            # Sent at the end of this loop turn, with whatever else the turn submits.
            self._loop.call_soon(self._flush)
        elif len(self._outbox) >= _MAX_BATCH:
            self._flush()
        return future

    def _flush(self) -> None:
        if not self._outbox:
            return
        batch, self._outbox = self._outbox, []
        try:
            # One pickling for the whole batch: the records' bodies are copied once.
            message = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # pickle raises several kinds (AttributeError: a lambda)
            message = pickle.dumps(self._picklable(batch), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self._jobs.send_bytes(message)
        except OSError as exc:
            for job_id, _job in batch:
                future = self._futures.pop(job_id, None)
                if future is not None:
                    future.set_exception(
                        WriterFailed(f"could not hand records to the writer: {exc}")
                    )

    def _picklable(self, batch: list[tuple[int, object]]) -> list[tuple[int, object]]:
        """The jobs of `batch` that pickle; the others' futures fail."""
        kept = []
        for job_id, job in batch:
            try:
                pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:
                error = WriterFailed(f"records builder cannot be sent: {exc}")
                self._futures.pop(job_id).set_exception(error)
            else:
                kept.append((job_id, job))
        return kept

    def _read_answers(self) -> None:
        """The results pipe is readable: answers, or the writer's end closed."""
        try:
            while self._results.poll():
                self._answer(pickle.loads(self._results.recv_bytes()))
        except (EOFError, OSError):
            self._loop.remove_reader(self._results.fileno())
            self._writer_exited()

    def _answer(self, answers: list[tuple]) -> None:
        for answer in answers:
            kind = answer[0]
            if kind == "closed":
                self._on_closed(Path(answer[1]))
                continue
            future = self._futures.pop(answer[1])
            if kind == "done":
                future.set_result(answer[2])
            else:
                future.set_exception(WriterFailed(answer[2]))

    def _writer_exited(self) -> None:
        """The writer stopped (shutdown) or died: what waits fails, and so do later sends."""
        self._process.join(5)
        self._gone = f"the WARC writer process exited (code {self._process.exitcode})"
        futures, self._futures = self._futures, {}
        for future in futures.values():
            future.set_exception(WriterFailed(self._gone))


@contextmanager
def _main_script_hidden() -> Iterator[None]:
    """Start a process without the program's main script: "spawn" runs the script that
    started the crawl again in the child (as ``__mp_main__``) when it was started by path, as
    the ``scrapy`` entry point is, and that imports all of Scrapy and Twisted into the writer,
    which needs none of it (about 30 MB). Run as ``python -m scrapy`` it is skipped already."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None) if getattr(main, "__spec__", None) is None else None
    if path is None:
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


def _widen(connection) -> None:
    """Give a pipe room for a few batches of pages (Linux: 1 MiB, not 64 KiB), so that the
    crawl does not wait in `send` while the writer works through the batch before."""
    try:
        fcntl.fcntl(connection.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
    except (AttributeError, OSError):
        pass  # not Linux, or over /proc/sys/fs/pipe-max-size: the default size works too


def _writer_main(jobs, results, spec: WriterSpec) -> None:
    """The writer process: write every batch it is sent, in order, until told to stop."""
    # Ctrl-C, and SIGTERM from systemd, `tini -g` or `dumb-init`, reach the whole process
    # group; the crawl stops gracefully and still has records to write, so only the crawl
    # decides when the writer stops (if the crawl dies, the writer sees its pipe close).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    answers: list[tuple] = []

    def send_answers() -> bool:
        batch = answers[:]
        answers.clear()
        try:
            results.send_bytes(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:
            return False  # the crawl is gone; the next run publishes what is in the spool
        return True

    # Several stretches per file, however small the files are made.
    index = _IndexAsWritten(stretch=min(_IndexAsWritten.STRETCH, max(spec.max_size // 4, 1)))

    def closed(path: Path) -> None:
        index.closed(path)
        # In order with the answers: the crawl hears of a closed file (indexed) before the
        # answer to the job that closed it.
        answers.append(("closed", str(path)))

    writer = RotatingWarcWriter(
        spec.spool_dir, spec.info, prefix=spec.prefix, max_size=spec.max_size, on_closed=closed
    )
    try:
        while True:
            try:
                batch = pickle.loads(jobs.recv_bytes())
            except EOFError:
                return  # the crawl is gone: close the file below
            if batch is None:
                return
            for job_id, job in batch:
                try:
                    if job == _CLOSE_FILE:
                        result = writer.close()
                    else:
                        result = writer.write(job())
                except Exception as exc:  # reported to the crawl, which logs and counts it
                    answers.append(("failed", job_id, f"{type(exc).__name__}: {exc}"))
                else:
                    answers.append(("done", job_id, result))
            if writer.current is not None:
                # What the crawl is told is written has reached the operating system.
                writer.current.flush()
                index.written(writer.current)
            if not send_answers():
                return
    finally:
        writer.close()
        index.abandon()
        if answers:
            send_answers()
        results.close()


class _IndexAsWritten:
    """The writer's CDXJ index of each file, built while the file is written.

    The file's new bytes are indexed after a batch of jobs (so between two exchanges), once
    they amount to `STRETCH`; when the file is closed its index is finished beside it, before
    the crawl hears of the file. This keeps indexing, which reads the whole file again, off
    the end of the crawl and off the crawl's process. On any error the file is left without
    an index, and the crawl's publisher indexes it whole (cdxj.index_warc).
    """

    STRETCH = 1024 * 1024  # bytes indexed at once, at most

    def __init__(self, stretch: int = STRETCH):
        self.stretch = stretch
        self._index: IncrementalIndex | None = None

    def written(self, file: WarcFile) -> None:
        """After a batch: index what was written to `file` since the last stretch."""
        try:
            if self._index is None or self._index.warc_name != file.filename:
                self.abandon()
                self._index = IncrementalIndex(file.open_path, file.filename)
            if file.size - self._index.indexed_to >= self.stretch:
                self._index.add(file.size)
        except Exception:
            logger.warning("could not index %s as it was written", file.filename, exc_info=True)
            self.abandon()

    def closed(self, path: Path) -> None:
        """`path` is closed: write its index beside it."""
        index, self._index = self._index, None
        try:
            out_path = path.with_name(cdxj_name(path))
            if index is not None and index.warc_name == path.name:
                index.add(path.stat().st_size)
                index.finish(out_path)
            else:  # closed within the batch that opened it
                index_warc(path, out_path)
        except Exception:
            logger.warning("could not index %s; the crawl will", path.name, exc_info=True)
        finally:
            if index is not None:
                index.close()  # after a failure too (closing twice is harmless)

    def abandon(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None
