"""One crawl run: checks the archive store, stores what earlier runs left, and at
the end stores the crawl's files and its manifest, last.

Before anything is fetched (when the crawler is built, before the engine
exists): the spool is locked for this run, the store is probed (write, read,
delete under the prefix: all an identity limited to the prefix may do), and the
leftovers of earlier runs in the spool are stored. Credentials the store
refuses, a missing bucket or a bad ``ARCHIVE_URI`` stop the crawl there; an
unreachable store does not: the crawl archives into the spool and the files are
stored later (this run's end, the next run, or ``scrapy sync``).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from scrapy import signals

import crawler as crawler_package
from crawler.archive.publish import ArchivePublisher, CrawlStorage
from crawler.config import ConfigError, WarcConfig
from crawler.extensions.report import crawl_report
from crawler.incremental.crawl import IncrementalCrawl
from crawler.storage import (
    ArchiveStore,
    StorageAccessDenied,
    StorageError,
    StorageNotFound,
    StorageUnavailable,
)
from crawler.storage.spool import WARC_SUFFIX, items_key, manifest_key
from crawler.storage.spool_lock import lock_spool

logger = logging.getLogger(__name__)

# Recorded in the manifest: what shapes a crawl. Never credentials.
MANIFEST_SETTINGS = {
    "PORTAL_URL": "get",
    "PORTAL_EXTRA_HOSTS": "getlist",
    "PORTAL_SECTIONS": "getlist",
    "PORTAL_MAX_LISTING_PAGES": "getint",
    "PORTAL_FOLLOW_RELATED": "getbool",
    "PORTAL_FETCH_IMAGES": "getbool",
    "PORTAL_SEED_SITEMAP": "getbool",
    "PORTAL_SEED_FEEDS": "getbool",
    "PORTAL_MAX_LINKS_PER_PAGE": "getint",
    "PORTAL_MAX_RELATED_DEPTH": "getint",
    "PORTAL_MAX_STALE_LISTING_PAGES": "getint",
    "CLOSESPIDER_PAGECOUNT": "getint",
    "CLOSESPIDER_TIMEOUT": "getfloat",
    "DOWNLOAD_MAXSIZE": "getint",
    "INCREMENTAL_MAX_TRIES": "getint",
    "USER_AGENT": "get",
    "ROBOTSTXT_OBEY": "getbool",
    "AUTOTHROTTLE_ENABLED": "getbool",
    "DOWNLOAD_DELAY": "getfloat",
    "CONCURRENT_REQUESTS": "getint",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "getint",
    "DOWNLOAD_TIMEOUT": "getfloat",
    "RETRY_TIMES": "getint",
    "WARC_ENABLED": "getbool",
    "WARC_MAX_SIZE": "getint",
    "WARC_PREFIX": "get",
    "ITEMS_FEED_ENABLED": "getbool",
    "AWS_ENDPOINT_URL": "get",
    "AWS_REGION_NAME": "get",
}


class StoreRefused(ConfigError):
    """The archive store refused this run (credentials, permissions, no bucket)."""


def _json_safe(value):
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def check_store(store: ArchiveStore) -> bool:
    """Probe the store; ``False`` if it cannot be reached now, ``StoreRefused`` if
    it refuses us."""
    try:
        store.check_access()
    except StorageUnavailable as error:
        logger.warning(
            "archive store %s unreachable (%s): archiving into the spool, to be stored "
            "when it answers again",
            store.uri,
            error,
        )
        return False
    except (StorageAccessDenied, StorageNotFound) as error:
        raise StoreRefused(f"archive store refused: {error}; nothing was fetched") from None
    except StorageError as error:
        raise StoreRefused(f"archive store not usable: {error}; nothing was fetched") from None
    return True


def sync_spool(storage: CrawlStorage, count, skip: str | None = None) -> list[Path]:
    """Store every crawl an earlier run left in the spool (but ``skip``): repair
    files a killed run left open, index, pack, store, manifest. The files left."""
    left = []
    for crawl_id in storage.crawl_ids():
        if crawl_id == skip:
            continue
        spool = storage.spool(crawl_id)
        storage.recover(crawl_id)
        pending = spool.pending()
        logger.info("storing crawl %s left in the spool (%d files)", crawl_id, len(pending))
        kept = storage.sync_crawl(crawl_id)
        stored = [path for path, _key in pending if path not in kept]
        count("archive/synced", len(stored))
        recovered = sum(1 for path in stored if path.name.endswith(WARC_SUFFIX))
        if recovered:
            count("archive/files/recovered", recovered)
        left.extend(kept)
    return left


class CrawlRunExtension:
    """Announces the run; at the end stores its files and writes
    ``crawls/<crawl_id>/manifest.json`` (crawl id, portal, times, finish reason,
    settings, final stats, every stored file with key, size and sha256) last."""

    def __init__(self, crawler, publisher: ArchivePublisher, spool_lock: int):
        self.crawler = crawler
        self.publisher = publisher
        self.crawl_id = crawler.settings.get("CRAWL_ID")
        self.root = publisher.store.uri
        self.started_at: datetime | None = None
        self.finish_reason: str | None = None
        self.unstored: list[Path] = []
        self._spool_lock = spool_lock

    @classmethod
    def from_crawler(cls, crawler):
        publisher = ArchivePublisher.from_crawler(crawler)
        spool_lock = lock_spool(WarcConfig.from_settings(crawler.settings).spool_dir)
        crawl_id = crawler.settings.get("CRAWL_ID")
        try:
            if check_store(publisher.store):
                # A leftover of this very id too: completed (and then refused below).
                sync_spool(publisher.storage, crawler.stats.inc_value)
                if publisher.storage.crawl_id_taken(crawl_id):
                    raise ConfigError(
                        f"CRAWL_ID {crawl_id!r} is taken: {publisher.store.uri} holds that "
                        "crawl's manifest; a second run under the same id would overwrite its "
                        "items. Give each run its own id (or leave CRAWL_ID unset)"
                    )
            if crawl_id in publisher.storage.crawl_ids():
                raise ConfigError(
                    f"CRAWL_ID {crawl_id!r} is taken: an earlier run of that id left files in "
                    f"the spool that are not stored yet ({publisher.storage.spool_dir}); "
                    "`scrapy sync` stores them. Give each run its own id"
                )
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
        try:
            if self.started_at is not None:
                await self._complete(incremental)
        finally:
            if incremental is not None:
                await incremental.close()
            self.publisher.close()
            os.close(self._spool_lock)

    async def _complete(self, incremental: IncrementalCrawl | None) -> None:
        """Store the crawl's files; record in the incremental state what the store now
        holds; then the manifest, last."""
        stats = self.crawler.stats
        pending = await self.publisher.finish(self.crawl_id)
        if pending:
            stats.set_value("archive/unstored", len(pending))
        if incremental is not None:
            stored = set(self.publisher.storage.spool(self.crawl_id).stored())
            await incremental.finish(stored, self.finish_reason)
        self.unstored = await self.publisher.complete(self.crawl_id, self._manifest())
        final = stats.get_stats()
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
            "kept in the spool" if self.unstored else f"{self.root}/{manifest_key(self.crawl_id)}",
        )

    def _manifest(self) -> dict:
        settings = self.crawler.settings
        stats = self.crawler.stats.get_stats()
        return {
            "crawl_id": self.crawl_id,
            "portal": settings.get("PORTAL_URL"),
            "archive": self.root,
            "software": f"haiphong-archiver/{crawler_package.__version__}",
            "started_at": self.started_at.isoformat(),
            "finished_at": datetime.now(UTC).isoformat(),
            "finish_reason": self.finish_reason,
            "settings": {
                name: getattr(settings, getter)(name) for name, getter in MANIFEST_SETTINGS.items()
            },
            "report": crawl_report(stats, self.finish_reason),
            "stats": {key: _json_safe(value) for key, value in sorted(stats.items())},
        }
