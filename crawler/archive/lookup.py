"""Find a URL's captures in CDXJ indexes and read an archived response back, offline.

An archive root holds `indexes/<crawl_id>/*.cdxj` and `warcs/<crawl_id>/*.warc.gz`. A URL is
matched by its SURT key, made by the same function cdxj-indexer keys the index with, so
`http://` and `https://`, upper-case host names and default ports all find the same captures.
A capture is read by seeking to its offset and parsing exactly its `length` bytes with warcio.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import surt
from warcio.archiveiterator import ArchiveIterator

from crawler.archive.cdxj import INDEXED_RECORDS
from crawler.layout import CDXJ_SUFFIX, INDEXES, WARCS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexedCapture:
    """One index line: a record of `url` at `timestamp`, `length` bytes at `offset`."""

    urlkey: str
    timestamp: str
    url: str
    status: int | None
    mime: str | None
    digest: str | None
    filename: str
    offset: int
    length: int
    crawl_id: str


@dataclass(frozen=True)
class ArchivedResponse:
    """An archived record as stored: HTTP head and body, plus the WARC headers."""

    record_type: str
    url: str
    warc_date: str
    protocol: str
    status_line: str
    headers: list[tuple[str, str]]
    body: bytes

    def head_bytes(self) -> bytes:
        """Status line and headers as HTTP/1.1 text, ending with the blank line."""
        lines = [f"{self.protocol} {self.status_line}".strip()]
        lines.extend(f"{name}: {value}" for name, value in self.headers)
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace")


def url_key(url: str) -> str:
    """The SURT key cdxj-indexer files `url` under."""
    return surt.surt(url)


def find_captures(index_dir: Path, url: str) -> list[IndexedCapture]:
    """Captures of `url` in every `*.cdxj` file of `index_dir`, oldest first.

    The crawl id of each capture is the directory's name (`indexes/<crawl_id>/`).
    """
    key = url_key(url)
    captures = []
    for path in sorted(index_dir.glob(f"*{CDXJ_SUFFIX}")):
        captures.extend(_captures_in_file(path, key, index_dir.name))
    captures.sort(key=lambda capture: (capture.timestamp, capture.filename, capture.offset))
    return captures


def archive_captures(root: Path, url: str, crawl_id: str | None = None) -> list[IndexedCapture]:
    """Captures of `url` in an archive root's indexes (one crawl or all), newest first."""
    indexes = root / INDEXES
    if crawl_id is not None:
        index_dirs = [indexes / crawl_id]
    else:
        index_dirs = sorted(path for path in indexes.glob("*") if path.is_dir())
    captures = [capture for index_dir in index_dirs for capture in find_captures(index_dir, url)]
    captures.sort(
        key=lambda capture: (capture.timestamp, capture.crawl_id, capture.offset), reverse=True
    )
    return captures


def capture_warc_path(root: Path, capture: IndexedCapture) -> Path:
    """`warcs/<crawl_id>/<filename>` under the archive root."""
    return root / WARCS / capture.crawl_id / capture.filename


def read_capture(
    warc_path: Path,
    capture: IndexedCapture,
    *,
    decoded: bool = False,
    max_decoded: int | None = None,
) -> ArchivedResponse:
    """The record `capture` points at in `warc_path`; its body content-decoded if `decoded`.

    Without `decoded` the body is as stored (still gzipped if the server sent it gzipped).
    Raises ValueError when those bytes are not one record of the captured URL (a stale index),
    or when the decoded body would exceed `max_decoded` bytes (a gzip bomb is archived as
    received: decoding it whole would fill the memory).
    """
    with open(warc_path, "rb") as fh:
        fh.seek(capture.offset)
        member = fh.read(capture.length)
    return parse_capture(member, capture, warc_path, decoded=decoded, max_decoded=max_decoded)


def parse_capture(
    member: bytes,
    capture: IndexedCapture,
    warc_path: Path | str,
    *,
    decoded: bool = False,
    max_decoded: int | None = None,
) -> ArchivedResponse:
    """The record in ``member``, the ``capture.length`` bytes read at ``capture.offset`` of
    ``warc_path`` (a file, or an object of the archive store); see ``read_capture``."""
    if len(member) != capture.length:
        raise ValueError(
            f"{warc_path}: index says {capture.length} bytes at offset {capture.offset},"
            f" the file has only {len(member)} there"
        )
    records = ArchiveIterator(BytesIO(member))
    record = next(records, None)
    if record is None:
        raise ValueError(f"{warc_path}: no WARC record at offset {capture.offset}")
    target = record.rec_headers.get_header("WARC-Target-URI")
    if target != capture.url or record.rec_type not in INDEXED_RECORDS:
        raise ValueError(
            f"{warc_path}: the record at offset {capture.offset} is a {record.rec_type} of"
            f" {target!r}, the index says a capture of {capture.url!r}"
        )
    if decoded:
        body = record.content_stream().read(None if max_decoded is None else max_decoded + 1)
        if max_decoded is not None and len(body) > max_decoded:
            raise ValueError(
                f"{warc_path}: the body at offset {capture.offset} decodes to more than"
                f" {max_decoded} bytes (DOWNLOAD_MAXSIZE); without --decoded it is shown as stored"
            )
    else:
        body = record.raw_stream.read()
    http = record.http_headers
    if next(records, None) is not None:
        raise ValueError(
            f"{warc_path}: {capture.length} bytes at offset {capture.offset} hold more than"
            " one record"
        )
    return ArchivedResponse(
        record_type=record.rec_type,
        url=target,
        warc_date=record.rec_headers.get_header("WARC-Date"),
        protocol=http.protocol if http else "",
        status_line=http.statusline if http else "",
        headers=list(http.headers) if http else [],
        body=body,
    )


def index_lines(path: Path, crawl_id: str) -> Iterator[IndexedCapture]:
    """Every capture a CDXJ file of crawl ``crawl_id`` lists, in its order."""
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                yield _parse_line(line, path, number, crawl_id)


def _captures_in_file(path: Path, key: str, crawl_id: str) -> Iterator[IndexedCapture]:
    prefix = key + " "
    seen = False
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.startswith(prefix):
                # The file is sorted: the lines of one key are together.
                if seen:
                    return
                continue
            seen = True
            yield _parse_line(line, path, number, crawl_id)


def _parse_line(line: str, path: Path, number: int, crawl_id: str) -> IndexedCapture:
    try:
        urlkey, timestamp, data = line.split(" ", 2)
        fields = json.loads(data)
        status = fields.get("status")
        return IndexedCapture(
            urlkey=urlkey,
            timestamp=timestamp,
            url=fields["url"],
            status=int(status) if status else None,
            mime=fields.get("mime"),
            digest=fields.get("digest"),
            filename=_base_name(fields["filename"]),
            offset=int(fields["offset"]),
            length=int(fields["length"]),
            crawl_id=crawl_id,
        )
    except (ValueError, KeyError) as exc:
        raise ValueError(f"{path}:{number}: not a CDXJ line of a capture: {line!r}") from exc


def _base_name(filename: str) -> str:
    # The index names a file beside the others of its crawl, never a path elsewhere.
    if "/" in filename or "\\" in filename or filename in ("", ".", ".."):
        raise ValueError(f"CDXJ filename must be a plain file name, got {filename!r}")
    return filename
