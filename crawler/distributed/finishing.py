"""The end of a worker of a distributed crawl, and of the crawl.

Each worker stores its files as a single crawl does: WARCs and indexes under the crawl's
keys (names unique per worker), its items and pages list as parts under
``crawls/<crawl_id>/workers/<worker>/``, then its record there (the files it stored with
size and sha256, its stats, its incremental part). The records live in the archive store,
not in Redis: a crawl whose Redis was lost is finished by running it again.

The last worker (crawler/distributed/coordinator.py: every other one is done or dead)
finishes: it stores what dead workers on its host left in their spools, merges the items
parts into the crawl's one items file (an article once: a request taken over from a dead
worker may have been itemised by both), sums the stats, commits the incremental state,
writes the one manifest listing every worker's files, and deletes the parts. A finisher that
dies finishing is replaced (coordinator.py): its spool is stored as a dead worker's.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import os
import shutil
import socket
from dataclasses import asdict
from pathlib import Path

from crawler.archive.wacz_package import build_wacz
from crawler.layout import (
    CDXJ_SUFFIX,
    INDEXES,
    ITEMS_FILE,
    PAGES_FILE,
    WARC_SUFFIX,
    WARCS,
    WORKER_RECORD,
    items_key,
    wacz_key,
    worker_part_key,
    worker_parts_prefix,
)
from crawler.publishing.manifest import crawl_manifest
from crawler.publishing.spool_lock import LOCK_FILE, SpoolLocked, lock_spool
from crawler.publishing.storing import CrawlStorage
from crawler.storage import StorageError, StorageNotFound

logger = logging.getLogger(__name__)

INCREMENTAL_PART = "incremental.pickle"
MERGED_ITEMS = "merged-" + ITEMS_FILE
WACZ_BUILD = ".wacz-build"
# Stats that are a maximum across workers, not a sum.
_MAX_STATS = ("elapsed_time_seconds", "memusage/max", "memusage/startup")
WAIT_POLL = 0.5


def json_safe(stats: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in stats.items()}


def worker_record(worker: str, storage: CrawlStorage, crawl_id: str, stats: dict, **more) -> dict:
    # The worker's own files: not the crawl's items or WACZ, which a finisher that died
    # finishing may have stored from this spool (the next finisher stores them again).
    crawl_level = {items_key(crawl_id), wacz_key(crawl_id)}
    return {
        "worker": worker,
        "host": socket.gethostname(),
        "files": [
            asdict(entry)
            for key, entry in storage.spool(crawl_id).stored().items()
            if key not in crawl_level
        ],
        "stats": json_safe(stats),
        **more,
    }


def stored_record(storage: CrawlStorage, crawl_id: str, worker: str) -> dict | None:
    """The record a worker stored at its end, or None."""
    try:
        return json.loads(storage.store.get_bytes(worker_part_key(crawl_id, worker, WORKER_RECORD)))
    except StorageNotFound:
        return None


def store_record(storage: CrawlStorage, crawl_id: str, record: dict, part: bytes | None) -> None:
    worker = record["worker"]
    if part is not None:
        storage.store.put_bytes(part, worker_part_key(crawl_id, worker, INCREMENTAL_PART))
    body = json.dumps(record, ensure_ascii=False).encode("utf-8")
    storage.store.put_bytes(body, worker_part_key(crawl_id, worker, WORKER_RECORD))


def recover_dead(storage: CrawlStorage, crawl_id: str, dead: dict) -> bool:
    """Store what a dead worker of this host left in its spool; False if it cannot be
    reached from here (another host: its spool is stored by `scrapy sync` there)."""
    spool_dir = Path(dead.get("spool") or "")
    here = dead.get("host") == socket.gethostname()
    if here and not (spool_dir / crawl_id).is_dir():
        drop_worker_spool(spool_dir)
        if stored_record(storage, crawl_id, dead["worker"]) is None:
            # It died before it wrote anything (its requests were taken over): its record,
            # with no files, says it was one of the crawl's workers.
            record = {"worker": dead["worker"], "host": dead["host"], "files": [], "stats": {}}
            store_record(storage, crawl_id, {**record, "recovered": True}, None)
            storage.count("distributed/workers_recovered")
            logger.warning(
                "worker %s died before it wrote anything: none of it to store", dead["worker"]
            )
        return True  # or stored already (by a worker restarted on this host, or itself)
    if not here:
        logger.warning(
            "worker %s (%s) died; its spool is not on this host: `scrapy sync` with "
            "WARC_SPOOL_DIR=%s there stores it",
            dead["worker"],
            dead.get("host"),
            spool_dir,
        )
        return False
    try:
        lock = lock_spool(spool_dir)
    except SpoolLocked:
        return False
    try:
        theirs = CrawlStorage(storage.store, spool_dir, storage.portal_url, storage.count)
        theirs.worker = dead["worker"]
        spool = theirs.spool(crawl_id)
        # A finisher that died finishing left the crawl's merged items and WACZ half made:
        # the finisher that replaces it makes them again.
        for by_product in (spool.wacz_path, spool.path / MERGED_ITEMS):
            by_product.unlink(missing_ok=True)
        shutil.rmtree(spool.path / WACZ_BUILD, ignore_errors=True)
        theirs.recover(crawl_id)
        for warc in spool.warcs():
            if spool.key_of(warc) not in spool.stored():
                theirs.index_and_store(warc, crawl_id)
        left = theirs.store_pending(crawl_id)
        earlier = stored_record(theirs, crawl_id, dead["worker"])
        if earlier is not None and not earlier.get("recovered"):
            # It ended and stored its record (a finisher that died finishing): kept, with
            # its stats and incremental part, and whatever was stored since.
            files = worker_record(dead["worker"], theirs, crawl_id, {})["files"]
            record = {**earlier, "files": files}
        else:
            kept = spool.kept_record().get("stats", {})  # its own, if it ended but not stored
            record = worker_record(dead["worker"], theirs, crawl_id, kept, recovered=True)
        store_record(theirs, crawl_id, record, None)
        storage.count("distributed/workers_recovered")
        logger.warning(
            "worker %s died: its leftovers stored (%d files)", dead["worker"], len(record["files"])
        )
        if not left:
            spool.remove()
    finally:
        os.close(lock)
    if not left:
        shutil.rmtree(spool_dir, ignore_errors=True)
    return not left


def drop_worker_spool(spool_dir) -> None:
    """A worker's own spool directory, once nothing but its lock file is left in it."""
    try:
        leftover = [path.name for path in spool_dir.iterdir()]
        if leftover in ([], [LOCK_FILE]):
            shutil.rmtree(spool_dir, ignore_errors=True)
    except OSError:
        pass


def recover_siblings(storage: CrawlStorage, crawl_id: str) -> int:
    """At a worker's start: store what dead workers of this crawl left in their spools
    beside this worker's (a worker restarted on the same machine or pod). How many."""
    own = storage.spool_dir
    recovered = 0
    for sibling in sorted(own.parent.iterdir()) if own.parent.is_dir() else ():
        if sibling == own or not (sibling / crawl_id).is_dir():
            continue
        dead = {"worker": sibling.name, "host": socket.gethostname(), "spool": str(sibling)}
        recovered += recover_dead(storage, crawl_id, dead)
    return recovered


def read_records(storage: CrawlStorage, crawl_id: str) -> list[dict]:
    store = storage.store
    records = []
    for key in sorted(store.list(worker_parts_prefix(crawl_id))):
        if key.endswith("/" + WORKER_RECORD):
            records.append(json.loads(store.get_bytes(key)))
    # Live workers' items first: a taken-over article keeps the capture its survivor made.
    records.sort(key=lambda record: bool(record.get("recovered")))
    return records


def merge_items(storage: CrawlStorage, crawl_id: str, records: list[dict]) -> tuple[int, int]:
    """The workers' items parts into the crawl's items file, stored; (items, duplicates)."""
    spool = storage.spool(crawl_id)
    spool.path.mkdir(parents=True, exist_ok=True)
    merged = spool.path / MERGED_ITEMS
    seen: set[str] = set()
    count = duplicates = 0
    with gzip.GzipFile(merged, "wb", mtime=0) as out:
        for record in records:
            key = worker_part_key(crawl_id, record["worker"], ITEMS_FILE)
            if not any(entry["key"] == key for entry in record["files"]):
                continue
            for line in gzip.decompress(storage.store.get_bytes(key)).splitlines(keepends=True):
                if not line.strip():
                    continue
                url = json.loads(line).get("url")
                if url in seen:
                    duplicates += 1
                    continue
                seen.add(url)
                out.write(line)
                count += 1
    left = storage.store_files(spool, [(merged, items_key(crawl_id))])
    if left:
        raise StorageError(f"could not store the merged items of crawl {crawl_id}")
    return count, duplicates


def pack_wacz(storage: CrawlStorage, crawl_id: str, records: list[dict]) -> bool:
    """The crawl's one WACZ, from every worker's WARCs and indexes (fetched back from the
    store but the finisher's own) and pages lists; stored. False if it could not be."""
    spool = storage.spool(crawl_id)
    build = spool.path / WACZ_BUILD
    build.mkdir(parents=True, exist_ok=True)
    try:
        warcs, indexes, pages = [], [], []
        for record in records:
            for entry in record["files"]:
                key, name = entry["key"], entry["key"].rsplit("/", 1)[-1]
                if key.startswith(f"{WARCS}/") and name.endswith(WARC_SUFFIX):
                    warcs.append(_local_copy(storage, spool.path, build, key, entry["size"]))
                elif key.startswith(f"{INDEXES}/") and name.endswith(CDXJ_SUFFIX):
                    indexes.append(_local_copy(storage, spool.path, build, key, entry["size"]))
                elif key == worker_part_key(crawl_id, record["worker"], PAGES_FILE):
                    data = storage.store.get_bytes(key).decode("utf-8")
                    pages.extend(json.loads(line) for line in data.splitlines() if line.strip())
        if not warcs:
            return True
        build_wacz(
            spool.wacz_path,
            sorted(warcs, key=lambda path: path.name),
            indexes,
            pages,
            title=f"{storage.portal_url} crawl {crawl_id}",
        )
        storage.count("archive/wacz")
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return not storage.store_files(spool, [(spool.wacz_path, wacz_key(crawl_id))])


_CHUNK = 16 * 1024 * 1024


def _local_copy(storage: CrawlStorage, own: Path, build: Path, key: str, size: int) -> Path:
    """A stored file on this machine: the finisher's own from its spool, else fetched."""
    name = key.rsplit("/", 1)[-1]
    if (own / name).is_file():
        return own / name
    path = build / name
    with open(path, "wb") as out:
        for offset in range(0, size, _CHUNK):
            out.write(storage.store.get_range(key, offset, min(_CHUNK, size - offset)))
    return path


def merge_stats(own: dict, records: list[dict], me: str) -> dict:
    merged = dict(own)
    for record in records:
        if record["worker"] == me:
            continue
        for key, value in (record.get("stats") or {}).items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                merged.setdefault(key, value)
                continue
            mine = merged.get(key, 0)
            if not isinstance(mine, int | float):
                continue
            merged[key] = max(mine, value) if key in _MAX_STATS else mine + value
    return merged


def delete_parts(storage: CrawlStorage, crawl_id: str) -> None:
    for key in storage.store.list(worker_parts_prefix(crawl_id)):
        try:
            storage.store.delete(key)
        except StorageError as error:
            logger.warning("could not delete %s: %s", key, error)


async def wait_for_role(coordinator) -> tuple[str, list[dict]]:
    while True:
        role, dead = coordinator.role()
        if role != "wait":
            return role, dead
        await asyncio.sleep(WAIT_POLL)


__all__ = [
    "INCREMENTAL_PART",
    "delete_parts",
    "drop_worker_spool",
    "merge_items",
    "merge_stats",
    "pack_wacz",
    "read_records",
    "recover_dead",
    "recover_siblings",
    "store_record",
    "stored_record",
    "wait_for_role",
    "worker_record",
    "crawl_manifest",
]
