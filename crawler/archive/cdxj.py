"""A CDXJ index per WARC file, in the format pywb reads, made by cdxj-indexer.

Each line is `<surt> <14-digit timestamp> {"url", "mime", "status", "digest", "length",
"offset", "filename"}`, sorted. As pywb indexes an archive, only `response`, `revisit` and
`resource` records get a line, and a POST or PUT response is keyed by its URL with the request
body appended (`__wb_method=post&…`), which is how pywb finds it on replay.

A crawl's writer builds each file's index while writing the file (`IncrementalIndex`), so none
is left to make when the crawl ends; `index_warc` indexes a whole file (one left by a crash).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from cdxj_indexer import CDXJIndexer
from cdxj_indexer.main import SortingWriter

from crawler.archive.files import fsync_dir

logger = logging.getLogger(__name__)

CDXJ_SUFFIX = ".cdxj"
# What pywb indexes; cdxj-indexer's default adds `metadata` (and the wacz package, once
# imported, adds `warcinfo` to that default), so the list is always given explicitly.
INDEXED_RECORDS = ("response", "revisit", "resource")


def cdxj_name(warc_path: Path) -> str:
    """`<name>.warc.gz` → `<name>.cdxj`: the index file of a WARC file."""
    name = warc_path.name
    for suffix in (".warc.gz", ".warc"):
        if name.endswith(suffix):
            return name[: -len(suffix)] + CDXJ_SUFFIX
    raise ValueError(f"not a WARC file name (.warc.gz or .warc): {warc_path}")


def index_warc(warc_path: Path, out_path: Path) -> Path:
    """Write the sorted CDXJ index of `warc_path` to `out_path`, atomically; return `out_path`.

    The index is written to a temporary file beside `out_path` and renamed over it, so a
    reader never sees half an index. `filename` in every line is the WARC's base name.
    """
    with _write_atomically(out_path) as out:
        _indexer(out, [str(warc_path)], warc_path.name).process_all()
    logger.info("Indexed %s into %s", warc_path, out_path)
    return out_path


class IncrementalIndex:
    """The CDXJ index of a WARC file that is still being written, built stretch by stretch.

    `add(end)` has cdxj-indexer read the file's new bytes, up to `end`: whole records only,
    and never a request without its response (cdxj-indexer pairs them for POST keys), so
    `end` must fall between two exchanges. Lines gather in cdxj-indexer's SortingWriter
    (which spills to temporary files past 32 MB); `finish` writes them sorted: the bytes
    `index_warc` would write for the whole file.
    """

    def __init__(self, open_path: Path, warc_name: str):
        self.warc_name = warc_name
        self.indexed_to = 0
        self._file = open(open_path, "rb")  # the same file under its final name, once renamed
        self._indexer = _indexer(None, [], warc_name)
        self._lines = SortingWriter(None)  # its output is set by `finish`

    def add(self, end: int) -> None:
        """Index the file's bytes from where the last call stopped up to `end`."""
        if end > self.indexed_to:
            stretch = _Stretch(self._file, self.indexed_to, end)
            self._indexer.process_one(stretch, self._lines, self.warc_name)
            self.indexed_to = end

    def finish(self, out_path: Path) -> Path:
        """Write the sorted index to `out_path`, atomically; the file must be indexed whole."""
        self.close()
        with _write_atomically(out_path) as out:
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


def _indexer(out, inputs: list[str], warc_name: str) -> CDXJIndexer:
    return CDXJIndexer(
        out,
        inputs,
        sort=True,
        post_append=True,
        records=",".join(INDEXED_RECORDS),
        filename=warc_name,
    )


@contextmanager
def _write_atomically(out_path: Path) -> Iterator[TextIO]:
    """A text file that appears at `out_path`, whole and on disk, only once written."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = temporary_path(out_path)
    try:
        with open(tmp_path, "x", encoding="utf-8") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_path, out_path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    fsync_dir(out_path.parent)


def temporary_path(out_path: Path) -> Path:
    """A fresh hidden name beside `out_path`, to write to and then rename over it."""
    return out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex}.tmp")
