"""Closed WARC files from the spool into the archive store: indexed, stored, packaged.

Everything a crawl writes goes through its spool directory (``crawler.storage.spool``):
a closed WARC file is indexed there (CDXJ), then the WARC and its index are stored and
verified, in threads with bounded concurrency, so the crawl never waits on the store.
At the end the crawl's WACZ is packed from the spool's WARCs, indexes and pages list and
stored too; the manifest goes last, and only then is the spool directory removed. A file
that cannot be stored (store unreachable, refused, a failed verification) stays in the
spool, is counted and logged, and is stored by the next run or by ``scrapy sync``.

``CrawlStorage`` does the blocking work (any thread; also used by ``scrapy sync``);
``ArchivePublisher`` runs it off the reactor thread for the crawl.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from twisted.python.threadable import isInIOThread

from crawler.archive.cdxj import cdxj_name, index_warc
from crawler.archive.files import OPEN_SUFFIX
from crawler.archive.items_file import repair_items
from crawler.archive.pages import pages_path
from crawler.archive.recovery import recover_spool
from crawler.archive.wacz_package import build_wacz
from crawler.config import WarcConfig
from crawler.storage import ArchiveStore, StorageError, StorageNotFound, StorageUnavailable
from crawler.storage.spool import ITEMS, CrawlSpool, manifest_key, wacz_key, warc_key
from crawler.storage_uri import archive_store

logger = logging.getLogger(__name__)

Count = Callable[..., None]


@contextmanager
def _json_lines(path: Path) -> Iterator[Iterator[dict]]:
    """The JSON lines of ``path`` one by one (none when it does not exist)."""
    if not path.exists():
        yield iter(())
        return
    with open(path, encoding="utf-8") as lines:
        yield (json.loads(line) for line in lines if line.strip())


def _no_count(key: str, count: int = 1) -> None:
    """Stats are not kept (e.g. ``scrapy sync``)."""


class CrawlStorage:
    """The blocking side: index, store, pack and complete a crawl's spool files.

    Safe to call from several threads for different files; ``count(key, n)`` is
    called for every stat (from the calling thread).
    """

    def __init__(
        self, store: ArchiveStore, spool_dir: Path, portal_url: str, count: Count = _no_count
    ):
        self.store = store
        self.spool_dir = Path(spool_dir)
        self.portal_url = portal_url
        self.count = count

    def spool(self, crawl_id: str) -> CrawlSpool:
        return CrawlSpool(self.spool_dir, crawl_id)

    def crawl_ids(self) -> list[str]:
        """The crawls that have a directory in the spool."""
        if not self.spool_dir.is_dir():
            return []
        return sorted(p.name for p in self.spool_dir.iterdir() if p.is_dir())

    def crawl_id_taken(self, crawl_id: str) -> bool:
        """Whether a crawl of this id is complete in the store (its manifest stored): a run
        with the same id would overwrite its items."""
        return self.store.exists(manifest_key(crawl_id))

    # -- steps ------------------------------------------------------------------

    def recover(self, crawl_id: str) -> list[Path]:
        """Mend what a run killed outright left in the crawl's spool: each ``.open`` WARC
        file cut back to its last complete record, the ``.open`` items file to its last whole
        line (without the items whose record was cut off). The WARC files mended."""
        spool = self.spool(crawl_id)
        if not spool.path.is_dir():
            return []
        repaired = recover_spool(spool.path)
        if repaired:
            self.count("archive/files/repaired", len(repaired))
        open_items = spool.path / (ITEMS + OPEN_SUFFIX)
        if open_items.exists():
            stored = spool.stored()
            sizes = {path.name: path.stat().st_size for path in spool.warcs()}

            def record_kept(warc: dict) -> bool:
                name = warc.get("filename")
                end = int(warc.get("offset", 0)) + int(warc.get("length", 0))
                if name in sizes:
                    return end <= sizes[name]
                entry = stored.get(warc_key(crawl_id, str(name)))
                return entry is not None and end <= entry.size

            result = repair_items(open_items, record_kept)
            self.count("items/recovered", result.kept)
            if result.dropped:
                self.count("items/recovery_dropped", result.dropped)
        return repaired

    def index_and_store(self, warc: Path, crawl_id: str) -> list[Path]:
        """Index a closed WARC beside it, then store both; the files not stored."""
        spool = self.spool(crawl_id)
        index = self._index(warc)
        files = [(warc, spool.key_of(warc))]
        if index is not None:
            self.count("archive/indexes")
            files.append((index, spool.key_of(index)))
        stored = spool.stored()
        return self.store_files(spool, [(path, key) for path, key in files if key not in stored])

    def _index(self, warc: Path) -> Path | None:
        """The WARC's index beside it: the writer's (made as the file was written) or,
        for a file it did not index (one left by a crash), made here."""
        index = warc.with_name(cdxj_name(warc))
        if index.exists():
            return index
        try:
            index_warc(warc, index)
        except Exception:
            # Counted and logged; the WARC is stored all the same.
            self.count("archive/index_failed")
            logger.error("could not index %s", warc, exc_info=True)
            return None
        return index

    def store_files(self, spool: CrawlSpool, files: list[tuple[Path, str]]) -> list[Path]:
        """Store and verify each file, recording it in the ledger; the files not
        stored. An unreachable store is not tried again for the files after."""
        unstored = []
        unreachable = False
        for path, key in files:
            if unreachable:
                unstored.append(path)
                continue
            try:
                stored = self.store.put_file(path, key)
            except StorageError as error:
                self.count("archive/upload/failed")
                logger.error("could not store %s as %s: %s", path, key, error)
                unstored.append(path)
                unreachable = isinstance(error, StorageUnavailable)
                continue
            spool.record(stored)
            self.count("archive/upload/files")
            self.count("archive/upload/bytes", stored.size)
            if key.startswith("warcs/"):
                self.count("archive/files")
                self.count("archive/bytes", stored.size)
            logger.info(
                "stored %s as %s/%s (%d bytes, verified)",
                path.name,
                self.store.uri,
                key,
                stored.size,
            )
        return unstored

    def package(self, crawl_id: str) -> None:
        """Pack the crawl's WACZ in the spool from its WARCs, indexes and pages
        list, unless it is packed (or stored) already."""
        spool = self.spool(crawl_id)
        pages_file = pages_path(self.spool_dir, crawl_id)
        warcs = spool.warcs()
        if warcs and not spool.wacz_path.exists() and wacz_key(crawl_id) not in spool.stored():
            indexes = [index for index in map(self._index, warcs) if index is not None]
            with _json_lines(pages_file) as pages:
                build_wacz(
                    spool.wacz_path,
                    warcs,
                    indexes,
                    pages,
                    title=f"{self.portal_url} crawl {crawl_id}",
                )
            self.count("archive/wacz")
        pages_file.unlink(missing_ok=True)

    def store_pending(self, crawl_id: str) -> list[Path]:
        """Store every spool file of the crawl not stored yet; the files left."""
        spool = self.spool(crawl_id)
        return self.store_files(spool, spool.pending())

    def complete(self, crawl_id: str, manifest: dict | None = None) -> list[Path]:
        """Store what is left, then the manifest (last), then remove the crawl's
        spool directory. Returns the files still in the spool (none: complete).

        ``manifest`` is the crawl's record (times, settings, stats); without it,
        the one a run left in the spool, else the one already in the store (files
        stored later are added to it: a manifest is never replaced by a lesser one),
        else a note that the crawl was recovered. The file list is the ledger's:
        every file stored, with size and sha256.
        """
        spool = self.spool(crawl_id)
        unstored = self.store_pending(crawl_id)
        if unstored and manifest is None:
            # Nothing new to say yet; the manifest is written once the files are stored.
            return unstored + ([spool.manifest_path] if spool.manifest_path.exists() else [])
        try:
            manifest = dict(manifest or self._pending_manifest(spool))
        except StorageError as error:
            self.count("archive/upload/failed")
            logger.error("could not read the stored manifest of crawl %s: %s", crawl_id, error)
            return unstored + [spool.manifest_path]
        files = {entry["key"]: entry for entry in manifest.get("files") or ()}
        for entry in spool.stored().values():
            files[entry.key] = {"key": entry.key, "size": entry.size, "sha256": entry.sha256}
        manifest["files"] = [files[key] for key in sorted(files)]
        text = json.dumps(manifest, ensure_ascii=False, indent=2, default=str)
        body = (text + "\n").encode("utf-8")
        if unstored:
            self._keep_manifest(spool, body)
            return unstored + [spool.manifest_path]
        try:
            self.store.put_bytes(body, manifest_key(crawl_id))
        except StorageError as error:
            self.count("archive/upload/failed")
            logger.error("could not store the manifest of crawl %s: %s", crawl_id, error)
            self._keep_manifest(spool, body)
            return [spool.manifest_path]
        logger.info(
            "crawl %s: manifest stored as %s/%s", crawl_id, self.store.uri, manifest_key(crawl_id)
        )
        return spool.remove()

    def _pending_manifest(self, spool: CrawlSpool) -> dict:
        if spool.manifest_path.exists():
            manifest = json.loads(spool.manifest_path.read_text(encoding="utf-8"))
            manifest["stored_later_at"] = datetime.now(UTC).isoformat()
            return manifest
        try:
            manifest = json.loads(self.store.get_bytes(manifest_key(spool.crawl_id)))
        except StorageNotFound:
            pass
        else:
            # Complete before; files it left behind (its spool kept them) are added.
            manifest["stored_later_at"] = datetime.now(UTC).isoformat()
            return manifest
        # A crawl that died before it could write one: what is known is what it stored.
        return {
            "crawl_id": spool.crawl_id,
            "portal": None,
            "started_at": None,
            "finished_at": None,
            "finish_reason": "unfinished: recovered from the spool",
            "stored_later_at": datetime.now(UTC).isoformat(),
            "settings": None,
            "stats": None,
        }

    def _keep_manifest(self, spool: CrawlSpool, body: bytes) -> None:
        spool.path.mkdir(parents=True, exist_ok=True)
        temp = spool.path / f".{spool.manifest_path.name}.tmp"
        temp.write_bytes(body)
        temp.replace(spool.manifest_path)

    def sync_crawl(self, crawl_id: str) -> list[Path]:
        """Everything an earlier crawl left: pack, store, manifest; the files left."""
        spool = self.spool(crawl_id)
        for warc in spool.warcs():
            if spool.key_of(warc) not in spool.stored():
                self.index_and_store(warc, crawl_id)
        self.package(crawl_id)
        return self.complete(crawl_id)


class ArchivePublisher:
    """The crawl's side: ``publish`` a closed WARC (on the reactor thread, returns
    at once), ``await finish(crawl_id)`` when the crawl's files are all closed, and
    ``await complete(crawl_id, manifest)`` last of all."""

    def __init__(
        self,
        store: ArchiveStore,
        spool_dir: Path,
        portal_url: str,
        stats,
        *,
        concurrency: int = 2,
    ):
        self.stats = stats
        self.storage = CrawlStorage(store, spool_dir, portal_url, self._count)
        self._executor = ThreadPoolExecutor(concurrency, thread_name_prefix="archive-store")
        # Touched on the reactor thread only.
        self._pending: dict[str, list[Future]] = defaultdict(list)

    @classmethod
    def from_crawler(cls, crawler) -> ArchivePublisher:
        """The crawl's one publisher (made on first use, then shared)."""
        publisher = getattr(crawler, "archive_publisher", None)
        if publisher is None:
            settings = crawler.settings
            store = archive_store(settings)
            publisher = cls(
                store,
                WarcConfig.from_settings(settings).spool_dir,
                settings.get("PORTAL_URL"),
                crawler.stats,
                concurrency=settings.getint("ARCHIVE_UPLOAD_CONCURRENCY"),
            )
            crawler.archive_publisher = publisher
        return publisher

    @property
    def store(self) -> ArchiveStore:
        return self.storage.store

    def publish(self, path: Path, crawl_id: str) -> None:
        """Index and store the closed WARC ``path`` of crawl ``crawl_id``, in a thread."""
        future = self._executor.submit(self.storage.index_and_store, Path(path), crawl_id)
        self._pending[crawl_id].append(future)

    async def finish(self, crawl_id: str) -> list[Path]:
        """Await the crawl's files being stored, pack its WACZ, store what is
        left; the files that could not be stored (they stay in the spool)."""
        await self._drain(crawl_id)
        await self._run(self.storage.package, crawl_id)
        return await self._run(self.storage.store_pending, crawl_id)

    async def complete(self, crawl_id: str, manifest: dict | None) -> list[Path]:
        """``finish``, then the manifest, last; the files left in the spool."""
        await self.finish(crawl_id)
        return await self._run(self.storage.complete, crawl_id, manifest)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        close = getattr(self.store, "close", None)
        if close is not None:
            close()

    async def _drain(self, crawl_id: str) -> None:
        while self._pending.get(crawl_id):
            futures = self._pending.pop(crawl_id)
            results = await asyncio.gather(
                *(asyncio.wrap_future(future) for future in futures), return_exceptions=True
            )
            for result in results:
                if isinstance(result, BaseException):
                    # Not a store error (those are handled): the file stays in the spool.
                    self.stats.inc_value("archive/upload/failed")
                    logger.error("could not store a WARC file: %s", result, exc_info=result)

    async def _run(self, function, *args):
        return await asyncio.wrap_future(self._executor.submit(function, *args))

    def _count(self, key: str, count: int = 1) -> None:
        if isInIOThread():
            self.stats.inc_value(key, count)
        else:
            _call_in_reactor(self.stats.inc_value, key, count)


def _call_in_reactor(function, *args) -> None:
    # Imported here: importing the reactor at module level would install the default one
    # before Scrapy installs the asyncio reactor.
    from twisted.internet import reactor

    reactor.callFromThread(function, *args)
