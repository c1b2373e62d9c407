"""The blocking work of getting a crawl's spool files into the archive store.

A closed WARC file is indexed in the spool (CDXJ; the writer usually did it already), then
the WARC and its index are stored and verified; at the end, when WACZ_ENABLED asks for it,
the crawl's WACZ is packed from the spool's WARCs, indexes and pages list and stored too
(else ``scrapy wacz`` packs it from the store on request); the manifest goes last, and only
then is the spool directory removed. A file that cannot be stored (store unreachable,
refused, a failed verification, changed while it was stored) stays in the spool, is counted
and logged, and is stored by the next run or by ``scrapy sync``, which first mend what a
killed run left (``recover``) and then go through the same steps (``sync_leftovers``).

Safe to call from several threads for different files (the crawl runs it off the reactor
thread: crawler/publishing/publisher.py); ``count(key, n)`` is called for every stat.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from crawler.archive.cdxj import cdxj_name, index_warc
from crawler.archive.recovery import recover_spool
from crawler.archive.wacz_package import build_wacz
from crawler.atomic import write_atomically
from crawler.layout import (
    OPEN_SUFFIX,
    WARC_SUFFIX,
    WARCS,
    WORKER_RECORD,
    WORKERS,
    manifest_key,
    wacz_key,
    warc_key,
    worker_part_key,
)
from crawler.publishing.items_file import repair_items
from crawler.publishing.manifest import manifest_bytes, recovered_manifest, stored_later, with_files
from crawler.publishing.spool import CrawlSpool
from crawler.storage import (
    ArchiveStore,
    StorageError,
    StorageNotFound,
    StorageUnavailable,
    StorageVerificationFailed,
)

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
        self,
        store: ArchiveStore,
        spool_dir: Path,
        portal_url: str,
        count: Count = _no_count,
        worker: str | None = None,
        *,
        pack_wacz: bool = False,
    ):
        self.store = store
        # A worker of a distributed crawl: stores its parts, packs no WACZ, writes no
        # manifest (crawler/distributed/finishing.py). A worker's spool
        # (<spool>/workers/<worker>/) synced by `scrapy sync` is one too.
        if worker is None and Path(spool_dir).parent.name == WORKERS:
            worker = Path(spool_dir).name
        self.worker = worker
        self.spool_dir = Path(spool_dir)
        self.portal_url = portal_url
        self.count = count
        # A WACZ at the crawl's end (WACZ_ENABLED); else `scrapy wacz` makes one on request.
        self.pack_wacz = pack_wacz

    def spool(self, crawl_id: str) -> CrawlSpool:
        return CrawlSpool(self.spool_dir, crawl_id, self.worker)

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
        open_items = spool.path / (spool.items_path.name + OPEN_SUFFIX)
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
                stored = self._put_unchanged(path, key)
            except StorageError as error:
                self.count("archive/upload/failed")
                logger.error("could not store %s as %s: %s", path, key, error)
                unstored.append(path)
                unreachable = isinstance(error, StorageUnavailable)
                continue
            spool.record(stored)
            self.count("archive/upload/files")
            self.count("archive/upload/bytes", stored.size)
            if key.startswith(f"{WARCS}/"):
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
        list, unless it is packed (or stored) already or no WACZ is wanted."""
        if self.worker is not None:
            return  # the finishing worker packs the crawl's, if one is wanted (ending.py)
        spool = self.spool(crawl_id)
        pages_file = spool.pages_path
        warcs = spool.warcs()
        if (
            self.pack_wacz
            and warcs
            and not spool.wacz_path.exists()
            and wacz_key(crawl_id) not in spool.stored()
        ):
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
        if self.worker is not None and manifest is None and not unstored:
            if not self.store.exists(manifest_key(crawl_id)):
                return self._worker_record(spool)
        if unstored and manifest is None:
            # Nothing new to say yet; the manifest is written once the files are stored.
            return unstored + ([spool.manifest_path] if spool.manifest_path.exists() else [])
        try:
            manifest = manifest or self._pending_manifest(spool)
        except StorageError as error:
            self.count("archive/upload/failed")
            logger.error("could not read the stored manifest of crawl %s: %s", crawl_id, error)
            return unstored + [spool.manifest_path]
        body = manifest_bytes(with_files(manifest, spool.stored().values()))
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

    def _worker_record(self, spool: CrawlSpool) -> list[Path]:
        """A dead worker's spool stored (``scrapy sync``) before its crawl was finished:
        its record, for the crawl's finishing worker (crawler/distributed/finishing.py)."""
        record = {
            "worker": self.worker,
            "files": [asdict(entry) for entry in spool.stored().values()],
            "stats": spool.kept_record().get("stats", {}),
            "recovered": True,
        }
        key = worker_part_key(spool.crawl_id, self.worker, WORKER_RECORD)
        self.store.put_bytes(json.dumps(record).encode("utf-8"), key)
        logger.info(
            "crawl %s: worker %s's files stored, for its finishing worker",
            spool.crawl_id,
            self.worker,
        )
        return spool.remove()

    def _pending_manifest(self, spool: CrawlSpool) -> dict:
        """The manifest a run left in the spool, else the one already stored (files stored
        later are added to it), else a note that the crawl was recovered."""
        if spool.manifest_path.exists():
            return stored_later(json.loads(spool.manifest_path.read_text(encoding="utf-8")))
        try:
            return stored_later(json.loads(self.store.get_bytes(manifest_key(spool.crawl_id))))
        except StorageNotFound:
            return recovered_manifest(spool.crawl_id)

    def _keep_manifest(self, spool: CrawlSpool, body: bytes) -> None:
        spool.path.mkdir(parents=True, exist_ok=True)
        write_atomically(spool.manifest_path, body)

    def _put_unchanged(self, path: Path, key: str):
        """``store.put_file``, and the local file must not have changed meanwhile (a
        file still being written is not stored as whole)."""
        before = path.stat()
        stored = self.store.put_file(path, key)
        after = path.stat()
        if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            raise StorageVerificationFailed(
                f"{path} changed while it was stored as {key}; kept for another try"
            )
        return stored

    def sync_crawl(self, crawl_id: str) -> list[Path]:
        """Everything an earlier crawl left: pack, store, manifest; the files left."""
        spool = self.spool(crawl_id)
        for warc in spool.warcs():
            if spool.key_of(warc) not in spool.stored():
                self.index_and_store(warc, crawl_id)
        self.package(crawl_id)
        return self.complete(crawl_id)

    def sync_leftovers(self, skip: str | None = None) -> list[Path]:
        """Store every crawl an earlier run left in the spool (but ``skip``): mend what a
        killed run left open, index, pack, store, manifest last. The files left."""
        left = []
        for crawl_id in self.crawl_ids():
            if crawl_id == skip:
                continue
            spool = self.spool(crawl_id)
            self.recover(crawl_id)
            pending = spool.pending()
            logger.info("storing crawl %s left in the spool (%d files)", crawl_id, len(pending))
            kept = self.sync_crawl(crawl_id)
            stored = [path for path, _key in pending if path not in kept]
            self.count("archive/synced", len(stored))
            recovered = sum(1 for path in stored if path.name.endswith(WARC_SUFFIX))
            if recovered:
                self.count("archive/files/recovered", recovered)
            left.extend(kept)
        return left
