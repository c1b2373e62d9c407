"""A CDXJ index per WARC file, in the format pywb reads, made by cdxj-indexer.

Each line is `<surt> <14-digit timestamp> {"url", "mime", "status", "digest", "length",
"offset", "filename"}`, sorted. As pywb indexes an archive, only `response`, `revisit` and
`resource` records get a line, and a POST or PUT response is keyed by its URL with the request
body appended (`__wb_method=post&…`), which is how pywb finds it on replay.

A crawl's writer builds each file's index while writing the file (`IncrementalIndex`), so none
is left to make when the crawl ends; `index_warc` indexes a whole file (one left by a crash).

Indexing never content-decodes a response: cdxj-indexer, to pair each request with its
response (for POST keys), copies every record's decoded body to a temporary file, so a 5 MB
gzip bomb became a 5 GB file on the crawl's /tmp. Only what an index line needs is read here:
headers, and a POST or PUT request's body, which the crawl sent itself; the response's bytes
are skipped as stored (still compressed), so indexing costs no more disk than the WARC.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from cdxj_indexer import CDXJIndexer
from cdxj_indexer.bufferiter import BUFF_SIZE, concur_req_resp, join_req_resp
from cdxj_indexer.main import SortingWriter

from crawler import layout
from crawler.atomic import atomic_file

logger = logging.getLogger(__name__)

# What pywb indexes; cdxj-indexer's default adds `metadata` (and the wacz package, once
# imported, adds `warcinfo` to that default), so the list is always given explicitly.
INDEXED_RECORDS = ("response", "revisit", "resource")


def cdxj_name(warc_path: Path) -> str:
    """The index file name of a WARC file (crawler/layout.py)."""
    return layout.cdxj_name(Path(warc_path).name)


def index_warc(warc_path: Path, out_path: Path) -> Path:
    """Write the sorted CDXJ index of `warc_path` to `out_path`, atomically; return `out_path`.

    The index is written to a temporary file beside `out_path` and renamed over it, so a
    reader never sees half an index. `filename` in every line is the WARC's base name.
    """
    with atomic_file(out_path, "w", encoding="utf-8") as out:
        _indexer(out, [str(warc_path)], warc_path.name).process_all()
    logger.info("Indexed %s into %s", warc_path, out_path)
    return out_path


# Index lines held in memory before a sorted run is spilled to a temporary file: about
# 10,000 lines (some 4 MB of Python strings); cdxj-indexer's default is 32 MB of them.
SORT_BUFFER = 2 * 1024 * 1024


class IncrementalIndex:
    """The CDXJ index of a WARC file that is still being written, built stretch by stretch.

    `add(end)` has cdxj-indexer read the file's new bytes, up to `end`: whole records only,
    and never a request without its response (cdxj-indexer pairs them for POST keys), so
    `end` must fall between two exchanges. Lines gather in cdxj-indexer's SortingWriter
    (which spills sorted runs to temporary files past `SORT_BUFFER` characters, so the
    writer's memory stays flat however long the crawl); `finish` merges them sorted: the
    bytes `index_warc` would write for the whole file.
    """

    def __init__(self, open_path: Path, warc_name: str):
        self.warc_name = warc_name
        self.indexed_to = 0
        self._file = open(open_path, "rb")  # the same file under its final name, once renamed
        self._indexer = _indexer(None, [], warc_name)
        self._lines = SortingWriter(None, SORT_BUFFER)  # its output is set by `finish`

    def add(self, end: int) -> None:
        """Index the file's bytes from where the last call stopped up to `end`."""
        if end > self.indexed_to:
            stretch = _Stretch(self._file, self.indexed_to, end)
            self._indexer.process_one(stretch, self._lines, self.warc_name)
            self.indexed_to = end

    def finish(self, out_path: Path) -> Path:
        """Write the sorted index to `out_path`, atomically; the file must be indexed whole."""
        self.close()
        with atomic_file(out_path, "w", encoding="utf-8") as out:
            self._lines.out = out
            self._lines.flush()
        logger.info("Indexed %s into %s as it was written", self.warc_name, out_path)
        return out_path

    def close(self) -> None:
        self._file.close()


class _Stretch:
    """Bytes `start` to `end` of a file as a stream that tells its position in the whole file
    (warcio's ArchiveIterator takes record offsets from `tell()`)."""

    def __init__(self, file, start: int, end: int):
        file.seek(start)
        self._file = file
        self._position = start
        self._end = end

    def tell(self) -> int:
        return self._position

    def read(self, size: int = -1) -> bytes:
        left = self._end - self._position
        data = self._file.read(left if size < 0 else min(size, left))
        self._position += len(data)
        return data


class _Indexer(CDXJIndexer):
    """cdxj-indexer's CDXJ lines, with records paired by `_exchanges` (no response decoded)."""

    def process_one(self, input_, output, filename):
        # As CDXJIndexer.process_one (post_append on, no record digests), but with our pairing.
        self.curr_filename = self.force_filename or self._resolve_rel_path(filename)
        records = self._create_record_iter(input_)
        self._write_header(output, filename)
        for record in _exchanges(records, self.post_append, self.get_url_key):
            if not self.include_records or self.filter_record(record):
                self.process_index_entry(records, record, filename, output)


def _exchanges(records, post_append: bool, url_key) -> Iterable:
    """cdxj-indexer's `buffering_record_iter`, buffering only what it reads afterwards: the
    body of a request (its POST or PUT data go into the key). Any other record's content is
    left to the iterator, which skips it undecoded when it moves to the next record."""
    previous = None
    for record in records:
        record.buffered_stream = _request_body(record)
        record.file_offset = records.get_record_offset()  # reads the rest of the record
        record.file_length = records.get_record_length()
        request, response = concur_req_resp(previous, record)
        if not request or not response:
            if previous:
                yield previous
                previous.buffered_stream.close()
            previous = record
            continue
        join_req_resp(request, response, post_append, url_key)
        yield previous
        previous.buffered_stream.close()
        yield record
        record.buffered_stream.close()
        previous = None
    if previous:
        yield previous
        previous.buffered_stream.close()


def _request_body(record):
    """A request's decoded body (as cdxj-indexer buffers it); an empty stream for any other
    record, whose content no index field reads."""
    spool = tempfile.SpooledTemporaryFile(BUFF_SIZE)
    if record.rec_type == "request":
        shutil.copyfileobj(record.content_stream(), spool)
        spool.seek(0)
    return spool


def _indexer(out, inputs: list[str], warc_name: str) -> CDXJIndexer:
    return _Indexer(
        out,
        inputs,
        sort=True,
        post_append=True,
        records=",".join(INDEXED_RECORDS),
        filename=warc_name,
    )
