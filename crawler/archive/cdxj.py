"""A CDXJ index per WARC file, in the format pywb reads, made by cdxj-indexer.

Each line is `<surt> <14-digit timestamp> {"url", "mime", "status", "digest", "length",
"offset", "filename"}`, sorted. As pywb indexes an archive, only `response`, `revisit` and
`resource` records get a line, and a POST or PUT response is keyed by its URL with the request
body appended (`__wb_method=post&…`), which is how pywb finds it on replay.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

from cdxj_indexer import CDXJIndexer

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
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = temporary_path(out_path)
    try:
        with open(tmp_path, "x", encoding="utf-8") as out:
            indexer = CDXJIndexer(
                out,
                [str(warc_path)],
                sort=True,
                post_append=True,
                records=",".join(INDEXED_RECORDS),
                filename=warc_path.name,
            )
            indexer.process_all()
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_path, out_path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    fsync_dir(out_path.parent)
    logger.info("Indexed %s into %s", warc_path, out_path)
    return out_path


def temporary_path(out_path: Path) -> Path:
    """A fresh hidden name beside `out_path`, to write to and then rename over it."""
    return out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex}.tmp")
