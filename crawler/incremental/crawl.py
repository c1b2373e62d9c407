"""The crawl's incremental mode: what to fetch, what is a new version, what to remember.

On by default whenever the archive store holds state from an earlier crawl
(INCREMENTAL_ENABLED); INCREMENTAL_FULL forces a full crawl (which still records versions
and writes revisit records for payloads already archived). In incremental mode the spider:
- skips articles already archived, unless the portal says they changed;
- stops paging a section at the first listing page that holds only known articles;
- asks the portal's WordPress REST API which posts were modified since the last crawl began
  (or since the newest change that crawl saw, if earlier: the portal's clock, not ours)
  (`/wp-json/wp/v2/posts?modified_after=…`) and fetches those again.
An article fetched again becomes a new version when its content or modified date changed
(its item says `version` and which capture it `replaces`); otherwise it gives no item.

The state is read before anything is fetched and written when the spider closes, under a
lock in the store (crawler/incremental/lock.py) held for the whole crawl.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import create_looping_call
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from crawler.archive.records import ArchivedPayload
from crawler.config import WarcConfig
from crawler.incremental.lock import StateLock, StateLockLost, lock_ttl
from crawler.incremental.state import Capture, CrawlState, KnownArticle
from crawler.storage import StorageConfig, StorageError, StorageUnavailable, open_store
from crawler.storage_uri import archive_root_uri

logger = logging.getLogger(__name__)

FULL, INCREMENTAL = "full", "incremental"


class IncrementalCrawl:
    def __init__(self, crawler, store, state: CrawlState | None, mode: str, lock: StateLock | None):
        self.crawler = crawler
        self.stats = crawler.stats
        self.store = store
        self.state = state  # None: the store could not be read; nothing is saved
        self.mode = mode
        self.lock = lock
        self.crawl_id = crawler.settings.get("CRAWL_ID")
        self.changed: set[str] = set()
        self.started_at = datetime.now(UTC)
        self._renewal = None
        self._renewing = None
        self._stopping = None
        self._answered: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        if not settings.getbool("INCREMENTAL_ENABLED"):
            raise NotConfigured("INCREMENTAL_ENABLED is off")
        store = open_store(
            archive_root_uri(settings.get("ARCHIVE_URI")), StorageConfig.from_settings(settings)
        )
        spool_dir = WarcConfig.from_settings(settings).spool_dir
        lock = StateLock(store, settings.get("CRAWL_ID"), lock_ttl(settings), spool_dir)
        try:
            lock.acquire()  # StateLocked stops the crawl here, before any fetch
            state = CrawlState.load(store)
        except StorageUnavailable as exc:
            # No state to trust: crawl everything, and leave the stored state as it is.
            logger.error("incremental state unreadable (%s): a full crawl, state not updated", exc)
            try:
                lock.release()
            except StorageError:
                pass  # it expires (INCREMENTAL_LOCK_TTL) or this host's next run takes it
            crawler.stats.set_value("incremental/state_unavailable", 1)
            lock, state = None, None
        if state is None or state.empty or settings.getbool("INCREMENTAL_FULL"):
            mode = FULL
        else:
            mode = INCREMENTAL
        crawler.stats.set_value("incremental/mode", mode)
        crawl = cls(crawler, store, state, mode, lock)
        crawler.signals.connect(crawl.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(crawl.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(crawl.response_received, signal=signals.response_received)
        crawler.incremental = crawl
        return crawl

    # -- what to fetch -----------------------------------------------------

    @property
    def active(self) -> bool:
        return self.mode == INCREMENTAL

    def wants(self, url: str) -> bool:
        """Whether the article at `url` should be fetched."""
        if not self.active or url in self.changed or not self.state.seen(url):
            return True
        self.stats.inc_value("incremental/known_skipped")
        return False

    def all_known(self, urls) -> bool:
        """Whether these article URLs (some) were all archived (or answered) before."""
        return self.active and bool(urls) and all(self.state.seen(url) for url in urls)

    def wants_image(self, url: str) -> bool:
        """Whether to fetch an article's image: not when an earlier crawl archived it."""
        if not self.active or not self.state.image_known(url):
            return True
        self.stats.inc_value("incremental/known_images_skipped")
        return False

    def changes_since(self) -> datetime | None:
        """Since when to ask the portal for changes: the last crawl's start, or the newest
        change it saw on the portal if that is earlier (the portal's clock, not ours)."""
        last = self.state.last_crawl if self.state else None
        if last is None:
            return None
        since = datetime.fromisoformat(last["started_at"])
        changes = [c for a in self.state.articles.values() if (c := a.last_change())]
        return min(since, max(changes)) if changes else since

    def portal_changed(self, url: str, modified: datetime | None) -> bool:
        """The portal says the post at `url` was modified at `modified`: fetch it again?"""
        known = self.state.known(url) if self.state else None
        if known is None:
            return True  # a new post (the listings will find it too)
        last = known.last_change()
        if modified is None or last is None or modified > last:
            self.changed.add(url)
            self.stats.inc_value("incremental/changed_reported")
            return True
        return False

    def archived_payload(self, url: str) -> ArchivedPayload | None:
        """The payload last archived for `url`, for a revisit record if it comes again."""
        known = self.state.known(url) if self.state else None
        capture = known.capture if known else None
        if capture is None or not capture.payload_digest or not capture.warc_date:
            return None
        return ArchivedPayload(capture.payload_digest, url, capture.warc_date)

    # -- versions ----------------------------------------------------------

    def version(self, url: str, content_sha256: str, modified_at: str | None):
        """`(version, replaces)` of an article as fetched now; None: same as archived."""
        known = self.state.known(url) if self.state else None
        if known is None:
            return 1, None
        if known.changed_by(content_sha256, modified_at):
            capture = known.capture
            replaces = {"version": known.version, "crawl_id": capture.crawl_id if capture else None}
            if capture is not None:
                replaces.update(
                    record_id=capture.record_id,
                    filename=capture.filename,
                    warc_date=capture.warc_date,
                )
            return known.version + 1, replaces
        return None

    def remember(self, item, version: int, capture: Capture | None) -> None:
        if self.state is None:
            return
        self.state.record(
            KnownArticle(
                url=item.url,
                version=version,
                content_sha256=item.content_sha256,
                published_at=item.published_at,
                modified_at=item.modified_at,
                crawled_at=item.crawled_at,
                capture=capture,
                images=tuple(image["url"] for image in item.images),
            )
        )

    # -- lifecycle ---------------------------------------------------------

    def response_received(self, response, request, spider):
        # Article URLs answered for good (200, 301, 404, 410): if no item comes of them,
        # the next crawl does not ask again. Server errors may pass; they are asked again.
        # A permanent redirect answers for good too: the article moved (a renamed slug).
        if self.state is None or response.status not in (200, 301, 308, 404, 410):
            return
        # An old address that redirected here is answered too (a renamed slug).
        for url in (*request.meta.get("redirect_urls", ()), response.url):
            url = spider.config.urls.canonical(url)
            if spider.config.urls.is_article(url):
                self._answered.add(url)

    def refused(self, url: str) -> None:
        """An article URL the crawl will not fetch (robots.txt, scope): not asked again."""
        if self.state is not None:
            self._answered.add(url)

    def spider_opened(self, spider):
        if self.lock is not None:
            self._renewal = create_looping_call(self._renew)
            self._renewal.start(self.lock.ttl.total_seconds() / 3, now=False)

    async def spider_closed(self, spider, reason):
        if self._renewal is not None and self._renewal.running:
            self._renewal.stop()
        try:
            if self.state is not None:
                self.state.unusable |= self._answered - self.state.articles.keys()
                crawl = {
                    "crawl_id": self.crawl_id,
                    "mode": self.mode,
                    "started_at": self.started_at.isoformat(),
                    "finished_at": datetime.now(UTC).isoformat(),
                    "finish_reason": reason,
                    "items": self.stats.get_value("items/accepted", 0),
                }
                # A Deferred cannot be awaited in an asyncio task ("bad yield"): wrap it.
                # Still ours? (StateLockLost: another run took it over, its state wins.)
                await maybe_deferred_to_future(deferToThread(self.lock.renew))
                await maybe_deferred_to_future(deferToThread(self.state.save, self.store, crawl))
                self.stats.set_value("incremental/known_articles", len(self.state.articles))
        except StorageError as exc:
            self.stats.set_value("incremental/state_not_saved", 1)
            logger.error("incremental state not saved (%s): the next crawl repeats this one", exc)
        finally:
            if self.lock is not None:
                await maybe_deferred_to_future(deferToThread(self.lock.release))

    def _renew(self) -> None:
        # The looping call takes no Deferred: the renewal runs on its own, one at a time.
        if self._renewing is None:
            self._renewing = deferToThread(self.lock.renew)
            self._renewing.addErrback(self._renew_failed).addBoth(self._renewed)

    def _renewed(self, _result) -> None:
        self._renewing = None

    def _renew_failed(self, failure) -> None:
        # A failed renewal is tried again at the next interval (the lock expires only
        # INCREMENTAL_LOCK_TTL after the last one that worked); a lost lock stops the crawl.
        error = failure.value
        if isinstance(error, StateLockLost):
            logger.error("%s: stopping the crawl; the state is not saved", error)
            self._stopping = asyncio.ensure_future(
                self.crawler.engine.close_spider_async(reason="state_lock_lost")
            )
        elif isinstance(error, StorageError):
            logger.warning("state lock not renewed: %s", error)
        else:
            return failure
        return None


def incremental_of(crawler) -> IncrementalCrawl | None:
    return getattr(crawler, "incremental", None)
