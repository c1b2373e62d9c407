"""Close out WARC files a crashed run left open in the spool.

A kill -9 leaves `*.warc.gz.open` files whose last gzip member may be torn (or followed by
junk). Each is cut back to the end of its last complete, readable record and renamed to its
final name, so every record written before the crash stays readable. Records are found with
warcio's ArchiveIterator; each gzip member is also inflated on its own, because warcio reads a
truncated member without complaint and would count a half-written record as whole.
"""

from __future__ import annotations

import logging
import os
import zlib
from pathlib import Path
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeadersParserException

from crawler.atomic import rename_durably
from crawler.layout import OPEN_SUFFIX, WARC_SUFFIX

logger = logging.getLogger(__name__)

_CHUNK = 1024 * 1024
# What warcio raises on bytes that are not (or no longer) a WARC record.
_UNREADABLE = (ArchiveLoadFailed, StatusAndHeadersParserException)


def recover_spool(spool_dir: Path) -> list[Path]:
    """Repair and close every leftover `.open` WARC file; return the final paths kept."""
    recovered = []
    for open_path in sorted(spool_dir.glob(f"*{WARC_SUFFIX}{OPEN_SUFFIX}")):
        final_path = recover_file(open_path)
        if final_path is not None:
            recovered.append(final_path)
    return recovered


def recover_file(open_path: Path) -> Path | None:
    """Cut one `.open` file after its last complete record and rename it; None if none was."""
    final_path = open_path.with_name(open_path.name.removesuffix(OPEN_SUFFIX))
    if final_path.exists():
        raise FileExistsError(f"Cannot recover {open_path}: {final_path} already exists")
    size = open_path.stat().st_size
    end, kept = _complete_prefix(open_path)
    if kept == 0:
        logger.warning("Removed %s: no complete WARC record in its %d bytes", open_path, size)
        open_path.unlink()
        return None
    with open(open_path, "r+b") as fh:
        fh.truncate(end)
        os.fsync(fh.fileno())
    rename_durably(open_path, final_path)
    if end < size:
        logger.warning(
            "Recovered %s: kept %d records (%d bytes), cut %d bytes after them",
            final_path,
            kept,
            end,
            size - end,
        )
    else:
        logger.info("Recovered %s: all %d records complete (%d bytes)", final_path, kept, end)
    return final_path


def _complete_prefix(path: Path) -> tuple[int, int]:
    """(end offset, count) of the unbroken run of complete records at the start of `path`."""
    end = 0
    kept = 0
    with open(path, "rb") as stream, open(path, "rb") as members:
        records = ArchiveIterator(stream, check_digests=True)
        try:
            for record in records:
                _drain(record.raw_stream)
                offset = records.get_record_offset()
                length = records.get_record_length()
                # Bytes warcio skipped between records were never checked: stop before them.
                if offset != end or record.digest_checker.passed is False:
                    break
                if not _is_whole_gzip_member(members, offset, length):
                    break
                end = offset + length
                kept += 1
        except _UNREADABLE:
            logger.warning("Unreadable bytes after offset %d of %s", end, path, exc_info=True)
        finally:
            records.close()
    return end, kept


def _drain(stream: BinaryIO) -> None:
    while stream.read(_CHUNK):
        pass


def _is_whole_gzip_member(fh: BinaryIO, offset: int, length: int) -> bool:
    """True if exactly `length` bytes at `offset` inflate as one complete gzip member."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    fh.seek(offset)
    remaining = length
    try:
        while remaining > 0:
            chunk = fh.read(min(_CHUNK, remaining))
            if not chunk:
                return False
            remaining -= len(chunk)
            inflater.decompress(chunk)
    except zlib.error:
        logger.debug("Gzip member at offset %d is corrupt", offset, exc_info=True)
        return False
    return inflater.eof and not inflater.unused_data
