"""A stored crawl packed into a WACZ on request (``scrapy wacz <crawl_id>``).

A crawl stores each byte once: its WARCs, their indexes, its items, its manifest. A WACZ
holds the WARCs again (and, for full-text search, the items' text again), so it is made only
when wanted, from what the crawl stored (``file://`` or ``s3://``): the WARCs and indexes
under ``warcs/<crawl_id>/`` and ``indexes/<crawl_id>/`` (a WARC without a stored index is
indexed here), the pages list from ``items/<crawl_id>.jsonl.gz``. The package is stored as
``wacz/<crawl_id>.wacz`` and added to the crawl's manifest.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path

from crawler.archive.cdxj import index_warc
from crawler.archive.wacz_package import build_wacz
from crawler.layout import (
    INDEXES,
    WARC_SUFFIX,
    WARCS,
    cdxj_name,
    index_key,
    items_key,
    manifest_key,
    wacz_key,
    wacz_name,
)
from crawler.publishing.manifest import manifest_bytes, with_files
from crawler.storage import ArchiveStore, FileStore, StoredObject

logger = logging.getLogger(__name__)

_CHUNK = 8 * 1024 * 1024


class CrawlNotStored(LookupError):
    """The store holds no WARC of the crawl asked for."""


def page_entry(item: Mapping, text: bool) -> dict:
    """A WACZ ``pages.jsonl`` line for an item: what ReplayWeb.page lists (and, with
    ``text``, searches)."""
    page = {"url": item["fetched_url"], "ts": item["crawled_at"], "title": item["title"]}
    if text:
        page["text"] = "\n\n".join(part for part in (item.get("sapo"), item.get("body")) if part)
    return page


def pack_stored_crawl(
    store: ArchiveStore, crawl_id: str, workdir: Path, *, text: bool = False
) -> StoredObject:
    """Pack crawl ``crawl_id`` as stored in ``store`` into its WACZ (made in ``workdir``),
    store it as ``wacz/<crawl_id>.wacz`` and list it in the crawl's manifest."""
    warc_keys = [key for key in store.list(f"{WARCS}/{crawl_id}/") if key.endswith(WARC_SUFFIX)]
    if not warc_keys:
        raise CrawlNotStored(f"no WARC of crawl {crawl_id!r} in {store.uri}")
    stored_indexes = set(store.list(f"{INDEXES}/{crawl_id}/"))
    warcs, indexes = [], []
    for key in warc_keys:
        warc = _local(store, key, workdir)
        warcs.append(warc)
        name = cdxj_name(warc.name)
        if index_key(crawl_id, name) in stored_indexes:
            indexes.append(_local(store, index_key(crawl_id, name), workdir))
        else:
            logger.warning("%s has no stored index: indexed here", key)
            indexes.append(index_warc(warc, workdir / name))
    manifest = _manifest(store, crawl_id)
    portal = (manifest or {}).get("portal") or "the portal"
    items = (
        _local(store, items_key(crawl_id), workdir) if store.exists(items_key(crawl_id)) else None
    )
    out = workdir / wacz_name(crawl_id)
    build_wacz(out, warcs, indexes, _pages(items, text), title=f"{portal} crawl {crawl_id}")
    stored = store.put_file(out, wacz_key(crawl_id))
    if manifest is not None:
        store.put_bytes(manifest_bytes(with_files(manifest, [stored])), manifest_key(crawl_id))
    logger.info("crawl %s packed as %s/%s (%d bytes)", crawl_id, store.uri, stored.key, stored.size)
    return stored


def _pages(items: Path | None, text: bool) -> Iterator[dict]:
    if items is None:
        return
    with gzip.open(items, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield page_entry(json.loads(line), text)


def _manifest(store: ArchiveStore, crawl_id: str) -> dict | None:
    if not store.exists(manifest_key(crawl_id)):
        return None
    return json.loads(store.get_bytes(manifest_key(crawl_id)))


def _local(store: ArchiveStore, key: str, workdir: Path) -> Path:
    """A local file holding ``key``: the stored file itself in a local store, else a copy
    in ``workdir`` read by ranges (a WARC may not fit in memory)."""
    if isinstance(store, FileStore):
        return store.root / key
    path = workdir / key
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        offset = 0
        while chunk := store.get_range(key, offset, _CHUNK):
            out.write(chunk)
            offset += len(chunk)
            if len(chunk) < _CHUNK:
                break
    return path
