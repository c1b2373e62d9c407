"""A WACZ package (WACZ 1.1.1) of one crawl: its WARCs, their CDXJ indexes and its pages.

Layout: `archive/<warc>` (stored, not deflated, so replay tools can read byte ranges),
`indexes/index.cdxj` (the per-WARC CDXJ indexes merged in sort order), `pages/pages.jsonl`,
`datapackage.json` (every resource with its sha256 and size) and `datapackage-digest.json`
(the sha256 of `datapackage.json`). ReplayWeb.page opens it as it is; `wacz validate` accepts it.

The zip is assembled here rather than with `wacz create`, because that command indexes every
WARC again (ignoring the indexes the crawl already made) and matches the given pages against
the records, dropping, with a printed warning only, any page whose time differs from the
record's. Every file is streamed: nothing holds a whole WARC or index in memory.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import logging
import os
import re
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import crawler
from crawler.atomic import atomic_path

logger = logging.getLogger(__name__)

WACZ_VERSION = "1.1.1"
SOFTWARE = f"haiphong-archiver/{crawler.__version__}"
INDEX_PATH = "indexes/index.cdxj"
PAGES_PATH = "pages/pages.jsonl"
PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}

_CHUNK = 1024 * 1024
# Data Package resource names: lower-case letters, digits and `-._/` only.
_NOT_IN_NAME = re.compile(r"[^-a-z0-9._/]")


class _HashingWriter:
    """Writes to a zip member while counting and hashing what passes through."""

    def __init__(self, out: BinaryIO):
        self.out = out
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.out.write(data)
        self.sha256.update(data)
        self.size += len(data)


def build_wacz(
    out_path: Path,
    warc_paths: list[Path],
    cdxj_paths: list[Path],
    pages: Iterable[dict],
    title: str,
) -> Path:
    """Write the WACZ of `warc_paths`, indexed by `cdxj_paths`, to `out_path`; return it.

    Each page is a dict with `url`, `ts` (ISO 8601 capture time), `title` and `text`; it
    becomes one line of `pages/pages.jsonl` (with an `id` added when it has none). A page
    without a URL or a valid `ts` is left out with a warning. The file is written beside
    `out_path` under a temporary name and renamed when complete.
    """
    if not warc_paths:
        raise ValueError("a WACZ needs at least one WARC file")
    names = [path.name for path in warc_paths]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"WARC file names must be unique in a WACZ, repeated: {duplicates}")
    with atomic_path(out_path) as tmp_path:
        _write_wacz(tmp_path, warc_paths, cdxj_paths, pages, title)
    logger.info("Packed %d WARC files into %s", len(warc_paths), out_path)
    return out_path


def _write_wacz(
    path: Path,
    warc_paths: list[Path],
    cdxj_paths: list[Path],
    pages: Iterable[dict],
    title: str,
) -> None:
    created = datetime.now(UTC)
    stamp = created.timetuple()[:6]
    resources = []
    with open(path, "xb") as fh, zipfile.ZipFile(fh, "w") as wacz:
        for warc_path in warc_paths:
            info = zipfile.ZipInfo.from_file(warc_path, f"archive/{warc_path.name}")
            info.compress_type = zipfile.ZIP_STORED
            with open(warc_path, "rb") as source:
                resources.append(_add(wacz, info, _chunks(source)))
        with ExitStack() as stack:
            indexes = [stack.enter_context(open(p, encoding="utf-8")) for p in cdxj_paths]
            lines = (line.encode("utf-8") for line in heapq.merge(*indexes))
            resources.append(_add(wacz, _deflated(INDEX_PATH, stamp), lines))
        resources.append(_add(wacz, _deflated(PAGES_PATH, stamp), _pages_lines(pages)))
        datapackage = {
            "profile": "data-package",
            "resources": resources,
            "title": title,
            "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "wacz_version": WACZ_VERSION,
            "software": SOFTWARE,
        }
        package_bytes = json.dumps(datapackage, indent=2).encode("utf-8")
        wacz.writestr(_deflated("datapackage.json", stamp), package_bytes)
        digest = {
            "path": "datapackage.json",
            "hash": "sha256:" + hashlib.sha256(package_bytes).hexdigest(),
        }
        wacz.writestr(
            _deflated("datapackage-digest.json", stamp), json.dumps(digest, indent=2).encode()
        )
        # Closing the zip writes its central directory; the file must hold that too.
        wacz.close()
        fh.flush()
        os.fsync(fh.fileno())


def _add(wacz: zipfile.ZipFile, info: zipfile.ZipInfo, chunks: Iterable[bytes]) -> dict:
    """Write one member from `chunks`; its datapackage resource entry."""
    with wacz.open(info, "w") as member:
        writer = _HashingWriter(member)
        for chunk in chunks:
            writer.write(chunk)
    return {
        "name": _NOT_IN_NAME.sub("-", os.path.basename(info.filename).lower()),
        "path": info.filename,
        "hash": "sha256:" + writer.sha256.hexdigest(),
        "bytes": writer.size,
    }


def _deflated(name: str, stamp: tuple[int, ...]) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, stamp)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _chunks(source: BinaryIO) -> Iterator[bytes]:
    while chunk := source.read(_CHUNK):
        yield chunk


def _pages_lines(pages: Iterable[dict]) -> Iterator[bytes]:
    yield _json_line(PAGES_HEADER)
    for number, page in enumerate(pages, 1):
        problem = _page_problem(page)
        if problem:
            # One bad entry of the list must not cost the crawl its package.
            logger.warning("WACZ pages list: page %d left out: %s", number, problem)
            continue
        line = {
            "url": page["url"],
            "ts": page["ts"],
            "title": page.get("title") or page["url"],
            "text": page.get("text") or "",
            "id": page.get("id") or _page_id(page["url"], page["ts"]),
        }
        yield _json_line(line)


def _page_problem(page: dict) -> str | None:
    """Why `page` cannot be listed (no URL, no ISO 8601 capture time), or None."""
    url, ts = page.get("url"), page.get("ts")
    if not isinstance(url, str) or not url:
        return f"no url in {page!r:.200}"
    try:
        datetime.fromisoformat(ts)
    except (TypeError, ValueError):
        return f"{url}: ts {ts!r} is not an ISO 8601 time"
    return None


def _page_id(url: str, ts: str) -> str:
    # Stable across rebuilds of the same crawl, unlike a random id.
    return hashlib.sha256(f"{ts} {url}".encode()).hexdigest()[:32]


def _json_line(data: dict) -> bytes:
    return (json.dumps(data, ensure_ascii=False) + "\n").encode("utf-8")
