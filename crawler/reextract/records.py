"""An item's archived page, read back from the store as the response the spider was given.

An item's ``warc`` pointer names its response record (filename, offset, length, record id):
those bytes are read with one ranged read and parsed with warcio. A page the browser rendered
was extracted from its DOM, archived as a ``resource`` record ``urn:dom:<page url>``
``WARC-Concurrent-To`` that response record; the crawl's CDXJ indexes list those records
(``DomIndex``), so only the rendered pages' few lines are kept.

The response is rebuilt as Scrapy's HTTP path hands it to the spider: the body content-decoded
(as the compression middleware does, ``Content-Encoding`` then dropped), the stored headers,
the URL the record was captured at; Scrapy picks the response class and the encoding from them.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from scrapy.http import Headers, HtmlResponse, Response
from scrapy.responsetypes import responsetypes
from warcio.archiveiterator import ArchiveIterator

from crawler.archive.lookup import archive_captures, index_lines
from crawler.layout import CDXJ_SUFFIX, INDEXES, warc_key
from crawler.storage import ArchiveStore, FileStore

logger = logging.getLogger(__name__)

DOM_PREFIX = "urn:dom:"


class RecordError(ValueError):
    """The pointer does not lead to the record it names (a stale or damaged archive)."""


@dataclass(frozen=True)
class DomCapture:
    filename: str
    offset: int
    length: int


class DomIndex:
    """The crawl's rendered-DOM records, by page URL (from its CDXJ indexes)."""

    def __init__(self, captures: dict[str, list[DomCapture]]):
        self.captures = captures

    @classmethod
    def read(cls, store: ArchiveStore, crawl_id: str, tmp_dir) -> DomIndex:
        captures: dict[str, list[DomCapture]] = {}
        for key in store.list(f"{INDEXES}/{crawl_id}/"):
            if not key.endswith(CDXJ_SUFFIX):
                continue
            path = _local_copy(store, key, tmp_dir)
            for capture in index_lines(path, crawl_id):
                if capture.url.startswith(DOM_PREFIX):
                    page = capture.url[len(DOM_PREFIX) :]
                    captures.setdefault(page, []).append(
                        DomCapture(capture.filename, capture.offset, capture.length)
                    )
        return cls(captures)


def _local_copy(store: ArchiveStore, key: str, tmp_dir):
    """A local file of ``key``: in place for a directory store, else copied into ``tmp_dir``
    (one index at a time: an index is small next to its WARC)."""
    if isinstance(store, FileStore):
        return store.root / key
    target = tmp_dir / key.replace("/", "_")
    target.write_bytes(store.get_bytes(key))
    return target


@dataclass(frozen=True)
class ArchivedPage:
    """What the spider made an item from: the response, and whether it was the browser's."""

    response: Response
    rendered: bool


def read_page(store: ArchiveStore, crawl_id: str, pointer: dict, doms: DomIndex) -> ArchivedPage:
    """The page an item of crawl ``crawl_id`` with ``pointer`` was extracted from."""
    record = _read_record(
        store, crawl_id, pointer["filename"], pointer["offset"], pointer["length"]
    )
    record_id = record.rec_headers.get_header("WARC-Record-ID")
    if record_id != pointer.get("record_id"):
        raise RecordError(f"{_where(crawl_id, pointer)} is record {record_id}, not the item's")
    url = record.rec_headers.get_header("WARC-Target-URI")
    if record.rec_type == "revisit":
        # Fetched again unchanged (incremental): the payload is the earlier capture's.
        record = _revisited(store, record)
    elif record.rec_type != "response":
        raise RecordError(f"{_where(crawl_id, pointer)} is a {record.rec_type} record")
    for dom in doms.captures.get(url, ()):
        resource = _read_record(store, crawl_id, dom.filename, dom.offset, dom.length)
        if resource.rec_headers.get_header("WARC-Concurrent-To") == record_id:
            return ArchivedPage(_dom_response(url, resource), rendered=True)
    return ArchivedPage(_http_response(url, record), rendered=False)


def _revisited(store: ArchiveStore, revisit: _Record) -> _Record:
    """The response record a revisit record refers to: same URL, same payload digest, found
    through the indexes of every crawl of the archive."""
    target = revisit.rec_headers.get_header("WARC-Refers-To-Target-URI")
    digest = revisit.rec_headers.get_header("WARC-Payload-Digest")
    if not isinstance(store, FileStore):
        raise RecordError(f"revisit of {target}: resolved in a file:// archive only")
    for capture in archive_captures(store.root, target):
        if capture.digest == digest and capture.mime != "warc/revisit":
            record = _read_record(
                store, capture.crawl_id, capture.filename, capture.offset, capture.length
            )
            if record.rec_type == "response":
                return record
    raise RecordError(f"revisit of {target}: no response record with payload {digest}")


class _Record:
    """A parsed record, its payload read (the member's bytes are gone with it)."""

    def __init__(self, record, payload: bytes):
        self.rec_type = record.rec_type
        self.rec_headers = record.rec_headers
        self.http_headers = record.http_headers
        self.payload = payload


def _read_record(store: ArchiveStore, crawl_id: str, filename: str, offset: int, length: int):
    where = f"{warc_key(crawl_id, filename)} at {offset}"
    member = store.get_range(warc_key(crawl_id, filename), offset, length)
    if len(member) != length:
        raise RecordError(f"{where}: {length} bytes expected, {len(member)} there")
    record = next(iter(ArchiveIterator(io.BytesIO(member))), None)
    if record is None:
        raise RecordError(f"{where}: no WARC record")
    # content_stream: de-chunked and content-decoded, as the crawl's middleware decoded it.
    return _Record(record, record.content_stream().read())


def _http_response(url: str, record: _Record) -> Response:
    http = record.http_headers
    headers = [
        (name, value)
        for name, value in (http.headers if http else [])
        if name.lower() not in ("content-encoding", "transfer-encoding")
    ]
    status = int(http.get_statuscode()) if http else 200
    scrapy_headers = Headers(_multi(headers))
    cls = responsetypes.from_args(headers=scrapy_headers, url=url, body=record.payload)
    return cls(url=url, status=status, headers=scrapy_headers, body=record.payload)


def _dom_response(url: str, resource: _Record) -> HtmlResponse:
    content_type = resource.rec_headers.get_header("Content-Type") or "text/html; charset=utf-8"
    _, _, charset = content_type.partition("charset=")
    return HtmlResponse(
        url=url,
        headers={"Content-Type": content_type},
        body=resource.payload,
        encoding=charset.strip() or "utf-8",
    )


def _multi(headers: list[tuple[str, str]]) -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    for name, value in headers:
        merged.setdefault(name, []).append(value)
    return merged


def _where(crawl_id: str, pointer: dict) -> str:
    return f"{warc_key(crawl_id, pointer['filename'])} at {pointer['offset']}"
