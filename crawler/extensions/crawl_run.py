"""One crawl run: checks the archive store, stores what earlier runs left, and at the end
stores the crawl's files, records in the incremental state what the store now holds, and
writes the manifest, last.

Before anything is fetched (when the crawler is built, before the engine exists): the spool
is locked for this run, the store is probed (write, read, delete under the prefix: all an
identity limited to the prefix may do), and the leftovers of earlier runs in the spool are
stored. Credentials the store refuses, a missing bucket, a bad ``ARCHIVE_URI`` or a crawl id
already used stop the crawl there; an unreachable store does not: the crawl archives into the
spool and the files are stored later (this run's end, the next run, or ``scrapy sync``).

The extension owns the crawl's ``ArchivePublisher`` (crawler/publishing/): the WARC
middleware finds it here (``crawler.get_extension(CrawlRunExtension).publisher``).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from scrapy import signals

from crawler.config import ConfigError, WarcConfig
from crawler.distributed.coordinator import Coordinator
from crawler.distributed.ending import MEMBER, REFUSED, UNFINISHED, end_worker
from crawler.distributed.finishing import drop_worker_spool, recover_siblings
from crawler.incremental.crawl import IncrementalCrawl
from crawler.layout import items_key, manifest_key
from crawler.publishing.access import check_store
from crawler.publishing.manifest import crawl_manifest
from crawler.publishing.publisher import ArchivePublisher
from crawler.publishing.spool_lock import lock_spool

logger = logging.getLogger(__name__)


class CrawlRunExtension:
    """Announces the run; at the end stores its files and writes
    ``crawls/<crawl_id>/manifest.json`` (crawler/publishing/manifest.py) last."""

    def __init__(self, crawler, publisher: ArchivePublisher, spool_lock: int):
        self.crawler = crawler
        self.publisher = publisher
        self.crawl_id = crawler.settings.get("CRAWL_ID")
        self.root = publisher.store.uri
        self.started_at: datetime | None = None
        self.finish_reason: str | None = None
        self.unstored: list[Path] = []
        self.role: str | None = None  # a worker of a distributed crawl: member, finisher
        # The crawl's end (files stored, manifest, a distributed crawl's finish or the wait
        # for it) ran to its close: not so when a shutdown signal stopped the reactor in it.
        self.ended = False
        self._spool_lock = spool_lock

    @classmethod
    def from_crawler(cls, crawler):
        publisher = ArchivePublisher.from_crawler(crawler)
        spool_lock = lock_spool(WarcConfig.from_settings(crawler.settings).spool_dir)
        try:
            _store_leftovers_or_refuse(publisher, crawler.settings.get("CRAWL_ID"))
            if publisher.storage.worker is not None:
                # A distributed crawl's worker: what dead workers left beside it on this host.
                recover_siblings(publisher.storage, crawler.settings.get("CRAWL_ID"))
        except BaseException:
            os.close(spool_lock)
            publisher.close()
            raise
        extension = cls(crawler, publisher, spool_lock)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(extension.engine_stopped, signal=signals.engine_stopped)
        return extension

    def spider_opened(self, spider):
        self.started_at = datetime.now(UTC)
        logger.info(
            "crawl %s of %s into %s",
            self.crawl_id,
            self.crawler.settings.get("PORTAL_URL"),
            self.root,
        )

    def spider_closed(self, spider, reason):
        self.finish_reason = reason

    async def engine_stopped(self):
        # Last: after every spider_closed handler (WARC files closed, feeds closed) has
        # run, so the stats are final.
        incremental = self.crawler.get_extension(IncrementalCrawl)
        coordinator = self.crawler.get_extension(Coordinator)
        try:
            if self.started_at is not None and coordinator is not None:
                self.role = await end_worker(self, coordinator, incremental)
                if self.role != REFUSED:
                    self._log_end()
            elif self.started_at is not None:
                await self._complete(incremental)
            self.ended = True
        finally:
            if incremental is not None:
                # The lock is the crawl's: the worker that finishes it releases it, not a
                # member, nor one too late to join (one archiving elsewhere holds its own).
                shared = self.role == MEMBER or (
                    self.role == REFUSED and coordinator.refused[0] == "finisher"
                )
                await incremental.close(release=not shared)
            if coordinator is not None:
                coordinator.close()
            self.publisher.close()
            os.close(self._spool_lock)
            if coordinator is not None and not self.unstored:
                drop_worker_spool(self.publisher.storage.spool_dir)

    async def _complete(self, incremental: IncrementalCrawl | None) -> None:
        """Store the crawl's files; record in the incremental state what the store now
        holds; then the manifest, last; then what earlier runs left, if the store
        could not take it when this run began."""
        stats = self.crawler.stats
        storage = self.publisher.storage
        pending = await self.publisher.finish(self.crawl_id)
        if pending:
            stats.set_value("archive/unstored", len(pending))
        if incremental is not None:
            stored = set(storage.spool(self.crawl_id).stored())
            await incremental.finish(stored, self.finish_reason)
        manifest = crawl_manifest(
            self.crawl_id,
            self.crawler.settings,
            stats.get_stats(),
            self.root,
            self.started_at,
            self.finish_reason,
        )
        self.unstored = await self.publisher.complete(self.crawl_id, manifest)
        if not self.unstored and storage.crawl_ids():
            # Leftovers of earlier runs the store was away for at the start.
            await self.publisher.run(storage.sync_leftovers, self.crawl_id)
        self._log_end()

    def _log_end(self) -> None:
        final = self.crawler.stats.get_stats()
        if self.unstored:
            logger.error(
                "crawl %s: %d files could not be stored in %s and are kept in %s: %s. "
                "`scrapy sync` or the next crawl stores them (and the manifest, last)",
                self.crawl_id,
                len(self.unstored),
                self.root,
                self.unstored[0].parent,
                ", ".join(path.name for path in self.unstored),
            )
        logger.info(
            "crawl %s finished (%s): %d items, %d responses; items in %s/%s; manifest %s",
            self.crawl_id,
            self.finish_reason,
            final.get("items/accepted", 0),
            final.get("downloader/response_count", 0),
            self.root,
            items_key(self.crawl_id),
            self._manifest_said(),
        )

    def _manifest_said(self) -> str:
        if self.unstored:
            return "kept in the spool"
        if self.role == MEMBER:
            return f"{self.root}/{manifest_key(self.crawl_id)}, written by another worker"
        if self.role == UNFINISHED:
            return "none yet (the next run of this CRAWL_ID finishes the crawl)"
        return f"{self.root}/{manifest_key(self.crawl_id)}"


def _store_leftovers_or_refuse(publisher: ArchivePublisher, crawl_id: str) -> None:
    """Before the crawl: store what earlier runs left (when the store answers), then refuse
    a crawl id that names a crawl already (a second run under it would overwrite its
    items)."""
    storage = publisher.storage
    if check_store(publisher.store):
        # A leftover of this very id too: completed (and then refused below).
        storage.sync_leftovers()
        if storage.crawl_id_taken(crawl_id):
            raise ConfigError(
                f"CRAWL_ID {crawl_id!r} is taken: {publisher.store.uri} holds that crawl's "
                "manifest; a second run under the same id would overwrite its items. Give "
                "each run its own id (or leave CRAWL_ID unset)"
            )
    if crawl_id in storage.crawl_ids():
        raise ConfigError(
            f"CRAWL_ID {crawl_id!r} is taken: an earlier run of that id left files in the "
            f"spool that are not stored yet ({storage.spool_dir}); `scrapy sync` stores "
            "them. Give each run its own id"
        )
