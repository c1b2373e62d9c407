"""WARC files in the local spool: one open file at a time, rotated at a size limit.

A file is written as `<name>.warc.gz.open` through one long-lived warcio writer, starts with a
warcinfo record, and on close is flushed, fsync'ed and renamed to its final IIPC-style name
before it is handed to `on_closed` (which moves or uploads it). The writer returns where each
record's gzip member lies in the final file, so items can point at their response record.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from warcio.recordloader import ArcWarcRecord
from warcio.warcwriter import WARCWriter

from crawler.archive.records import WARC_VERSION, CrawlInfo, build_warcinfo_record
from crawler.atomic import rename_durably
from crawler.layout import OPEN_SUFFIX, WARC_SUFFIX

logger = logging.getLogger(__name__)

DEFAULT_MAX_SIZE = 1024**3

# Parts of a file name: no path separators, spaces or shell-unfriendly characters.
_NAME_PART = re.compile(r"[A-Za-z0-9._]+(?:-[A-Za-z0-9._]+)*")

Clock = Callable[[], datetime]
ClosedCallback = Callable[[Path], None]


@dataclass(frozen=True)
class RecordLocation:
    """Where one record's gzip member lies: `length` bytes at `offset` of `filename`."""

    filename: str
    offset: int
    length: int
    record_id: str
    warc_date: str = ""
    payload_digest: str | None = None


def warc_filename(prefix: str, opened_at: datetime, serial: int, host: str, pid: int) -> str:
    """IIPC-style `<prefix>-<YYYYMMDDhhmmss>-<serial:05d>-<host>-<pid>.warc.gz`."""
    stamp = opened_at.astimezone(UTC).strftime("%Y%m%d%H%M%S")
    return f"{prefix}-{stamp}-{serial:05d}-{host}-{pid}{WARC_SUFFIX}"


def utc_now() -> datetime:
    return datetime.now(UTC)


class WarcFile:
    """One WARC file being written in the spool under its `.open` name."""

    def __init__(self, spool_dir: Path, filename: str, info: CrawlInfo, opened_at: datetime):
        self.filename = filename
        self.final_path = spool_dir / filename
        self.open_path = spool_dir / (filename + OPEN_SUFFIX)
        if self.final_path.exists():
            raise FileExistsError(f"WARC file {self.final_path} already exists in the spool")
        # Exclusive create: two writers must never share (and clobber) one file.
        self._fh: BinaryIO = open(self.open_path, "xb")
        self._writer = WARCWriter(self._fh, gzip=True, warc_version=WARC_VERSION)
        try:
            self.write([build_warcinfo_record(filename, info, opened_at)])
        except BaseException:
            # A file without its warcinfo is no WARC of ours: leave nothing behind.
            self._fh.close()
            self.open_path.unlink()
            raise
        logger.info("Opened WARC file %s", self.open_path)

    @property
    def size(self) -> int:
        """Bytes written so far (some may still be in this process's buffer: see `flush`)."""
        return self._fh.tell()

    def flush(self) -> None:
        """Hand what was written to the operating system: readers see it, and it outlives
        this process (not a power cut: `close` fsyncs)."""
        self._fh.flush()

    def write(self, records: Sequence[ArcWarcRecord]) -> list[RecordLocation]:
        """Append records, one gzip member each, and say where each one landed.

        All or nothing: if a record fails, the file is cut back to where this call began,
        since a half-written member would hide every later record from readers.
        """
        start = self._fh.tell()
        locations = []
        try:
            for record in records:
                offset = self._fh.tell()
                self._writer.write_record(record)
                # warcio flushes the gzip member into the file object; tell() is now its end.
                length = self._fh.tell() - offset
                headers = record.rec_headers
                locations.append(
                    RecordLocation(
                        self.filename,
                        offset,
                        length,
                        headers.get_header("WARC-Record-ID"),
                        headers.get_header("WARC-Date") or "",
                        headers.get_header("WARC-Payload-Digest"),
                    )
                )
        except BaseException:
            # The caller gets the exception; this only says what became of the file.
            logger.warning(
                "Writing %d records to %s failed; cut back to %d bytes",
                len(records),
                self.open_path,
                start,
            )
            self._fh.truncate(start)
            self._fh.seek(start)
            raise
        return locations

    def close(self) -> Path:
        """Flush, fsync, rename `.open` to the final name; return the final path."""
        self._fh.flush()
        os.fsync(self._fh.fileno())
        size = self._fh.tell()
        self._fh.close()
        rename_durably(self.open_path, self.final_path)
        logger.info("Closed WARC file %s (%d bytes)", self.final_path, size)
        return self.final_path


class RotatingWarcWriter:
    """Writes exchanges into a series of WARC files, starting a new one past `max_size`."""

    def __init__(
        self,
        spool_dir: Path,
        info: CrawlInfo,
        *,
        prefix: str,
        max_size: int = DEFAULT_MAX_SIZE,
        on_closed: ClosedCallback | None = None,
        clock: Clock = utc_now,
    ):
        if max_size <= 0:
            raise ValueError(f"WARC max_size must be a positive number of bytes, got {max_size}")
        for what, value in (("prefix", prefix), ("host name", info.hostname)):
            if not _NAME_PART.fullmatch(value):
                raise ValueError(f"WARC file name {what} {value!r} must match {_NAME_PART.pattern}")
        self.spool_dir = spool_dir
        self.info = info
        self.prefix = prefix
        self.max_size = max_size
        self.on_closed = on_closed
        self.clock = clock
        self._serial = 0
        self._current: WarcFile | None = None
        spool_dir.mkdir(parents=True, exist_ok=True)

    def write(self, records: Sequence[ArcWarcRecord]) -> list[RecordLocation]:
        """Write the records of one exchange, all into the same file."""
        current = self._current or self._open_next()
        locations = current.write(records)
        # Checked after the exchange, so its records never straddle two files.
        if current.size >= self.max_size:
            self.close()
        return locations

    @property
    def current(self) -> WarcFile | None:
        """The file being written, if one is open."""
        return self._current

    def __enter__(self) -> RotatingWarcWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the current file, if any, and hand it to `on_closed`."""
        if self._current is None:
            return
        current, self._current = self._current, None
        final_path = current.close()
        if self.on_closed is not None:
            self.on_closed(final_path)

    def _open_next(self) -> WarcFile:
        opened_at = self.clock()
        filename = warc_filename(
            self.prefix, opened_at, self._serial, self.info.hostname, os.getpid()
        )
        self._serial += 1
        self._current = WarcFile(self.spool_dir, filename, self.info, opened_at)
        return self._current
