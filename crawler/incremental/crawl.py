"""The crawl's incremental mode: what to fetch, what is a new version, what to remember.

On by default whenever the archive store holds state from an earlier crawl
(INCREMENTAL_ENABLED); INCREMENTAL_FULL forces a full crawl (which still records versions
and writes revisit records for payloads already archived). In incremental mode the spider:
- skips articles already archived, unless the portal says they changed;
- stops paging a section at the first listing page that holds only known articles, if that
  listing was walked to its end before;
- walks on where an earlier, interrupted run stopped, and fetches first what earlier runs
  found but could not archive (crawler/incremental/frontier.py);
- asks the portal's WordPress REST API which posts were modified since the last crawl that
  looked at every change began (or since the newest change it saw, if earlier: the portal's
  clock, not ours) (`/wp-json/wp/v2/posts?modified_after=…`) and fetches those again.
An article fetched again becomes a new version when its content or modified date changed
(its item says `version` and which capture it `replaces`); otherwise it gives no item.

The state is read before anything is fetched and written at the very end, once the crawl's
files are stored (CrawlRunExtension calls `finish`): an article becomes known only when its
WARC record and its item are in the archive store. All under a lock in the store
(crawler/incremental/lock.py) held for the whole crawl.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
from datetime import UTC, datetime

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import create_looping_call
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from crawler.archive.records import ArchivedPayload
from crawler.config import ConfigError, WarcConfig
from crawler.incremental.archived import ArchivedThisRun
from crawler.incremental.frontier import (
    ARTICLE,
    IMAGE,
    FrontierReport,
    PendingPage,
    ResumePoint,
    RunProgress,
)
from crawler.incremental.lock import StateLock, StateLockLost, lock_ttl
from crawler.incremental.parts import WalkNotes, merge_progress
from crawler.incremental.state import ArticleCapture, CrawlState, KnownArticle
from crawler.storage import StorageConfig, StorageError, StorageUnavailable, open_store
from crawler.storage_uri import archive_root_uri

logger = logging.getLogger(__name__)

FULL, INCREMENTAL = "full", "incremental"
# Statuses that say nothing about the page but "not now": no try is counted for them.
COME_BACK_LATER = frozenset((408, 429, 502, 503, 504))


class IncrementalCrawl:
    def __init__(
        self,
        crawler,
        store,
        state: CrawlState | None,
        mode: str,
        lock: StateLock | None,
        max_tries: int,
    ):
        self.crawler = crawler
        self.stats = crawler.stats
        self.store = store
        self.state = state  # None: the store could not be read; nothing is saved
        self.mode = mode
        self.lock = lock
        self.max_tries = max_tries
        settings = crawler.settings
        self.crawl_id = settings.get("CRAWL_ID")
        self.changed: set[str] = set()
        self.started_at = datetime.now(UTC)
        self.progress = RunProgress()
        # This run's new versions and captures, committed by `finish` once stored.
        self.archived = ArchivedThisRun(
            self.crawl_id,
            needs_warc=settings.getbool("WARC_ENABLED"),
            needs_items=settings.getbool("ITEMS_FEED_ENABLED"),
        )
        self._changes_read = False  # the portal's list of changes read to its last page
        # Listing pages of walks another worker of a distributed crawl began.
        self.walk_notes = WalkNotes()
        self._renewal = None
        self._renewing = None
        self._stopping = None

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        if not settings.getbool("INCREMENTAL_ENABLED"):
            raise NotConfigured("INCREMENTAL_ENABLED is off")
        max_tries = settings.getint("INCREMENTAL_MAX_TRIES")
        if max_tries < 1:
            raise ConfigError(f"INCREMENTAL_MAX_TRIES: at least 1, got {max_tries}")
        store = open_store(
            archive_root_uri(settings.get("ARCHIVE_URI")), StorageConfig.from_settings(settings)
        )
        spool_dir = WarcConfig.from_settings(settings).spool_dir
        # The workers of a distributed crawl hold the lock together (crawler/distributed/).
        shared = settings.getbool("DISTRIBUTED_ENABLED")
        lock = StateLock(
            store,
            settings.get("CRAWL_ID"),
            lock_ttl(settings),
            spool_dir,
            shared_token=f"crawl-{settings.get('CRAWL_ID')}" if shared else None,
        )
        try:
            lock.acquire()  # StateLocked stops the crawl here, before any fetch
            state = CrawlState.load(store)
        except StorageUnavailable as exc:
            # No state to trust: crawl everything, and leave the stored state as it is.
            logger.error("incremental state unreadable (%s): a full crawl, state not updated", exc)
            lock.release()  # (a release that fails is logged; the lock then expires)
            crawler.stats.set_value("incremental/state_unavailable", 1)
            lock, state = None, None
        if state is None or state.empty or settings.getbool("INCREMENTAL_FULL"):
            mode = FULL
        else:
            mode = INCREMENTAL
        crawler.stats.set_value("incremental/mode", mode)
        crawl = cls(crawler, store, state, mode, lock, max_tries)
        crawler.signals.connect(crawl.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(crawl.response_received, signal=signals.response_received)
        crawler.signals.connect(crawl.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(crawl.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(crawl.request_dropped, signal=signals.request_dropped)
        return crawl

    # -- what to fetch -----------------------------------------------------

    @property
    def active(self) -> bool:
        return self.mode == INCREMENTAL

    def wants(self, url: str) -> bool:
        """Whether the article at `url` should be fetched: not when it is archived (or was
        given up), unless the portal says it changed."""
        if not self.active or url in self.changed:
            return True
        if url in self.state.articles or url in self.state.frontier.given_up:
            self.stats.inc_value("incremental/known_skipped")
            return False
        return True

    def all_known(self, urls) -> bool:
        """Whether these article URLs (some) were all archived, or are pending or given up."""
        return self.active and bool(urls) and all(self.state.seen(url) for url in urls)

    def wants_image(self, url: str) -> bool:
        """Whether to fetch an article's image: not when an earlier crawl archived it."""
        if not self.active or not self.state.image_known(url):
            return True
        self.stats.inc_value("incremental/known_images_skipped")
        return False

    def changes_since(self) -> datetime | None:
        """Since when to ask the portal for changes: the start of the last crawl that looked
        at every change (the first crawl's if none did), or the newest change it saw on the
        portal if that is earlier (the portal's clock, not ours)."""
        if self.state is None or not self.state.crawls:
            return None
        covered = self.state.covered_since() or self.state.crawls[0]
        since = datetime.fromisoformat(covered["started_at"])
        changes = [c for a in self.state.articles.values() if (c := a.last_change())]
        return min(since, max(changes)) if changes else since

    def portal_changed(self, url: str, modified: datetime | None) -> bool:
        """The portal says the post at `url` was modified at `modified`: fetch it again?"""
        known = self.state.known(url) if self.state else None
        if known is None:
            if self.state is not None and url in self.state.frontier.given_up:
                self.changed.add(url)  # given up before; the portal has a new version
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

    # -- what earlier runs left undone (frontier.py) -------------------------

    def resume_points(self) -> list[tuple[str, dict, ResumePoint]]:
        """(listing, section, point) where earlier runs' listing walks were cut short."""
        if self.state is None:
            return []
        return [(w.url, w.section, p) for w, p in self.state.frontier.resume_points()]

    def pending_pages(self) -> list[PendingPage]:
        """Articles and images earlier runs found but did not archive: fetched first."""
        if self.state is None:
            return []
        pages = self.state.frontier.open_pages()
        if pages:
            self.stats.set_value("frontier/pending_at_start", len(pages))
        return pages

    def walk(self, listing: str, section: dict, start: ResumePoint | None) -> tuple[str, bool]:
        """A walker through `listing` (from `start`, or the first page): its id, and whether
        it may stop at a page of known articles."""
        walker = self.progress.walker(listing, section, start)
        may_stop = self.active and self.state.frontier.may_stop_early(listing, start is not None)
        return walker.walker_id, may_stop

    def listing_read(self, walker_id: str, url: str, page: int) -> None:
        walker = self.progress.walkers.get(walker_id)
        if walker is not None:
            walker.position = (url, page)
        else:
            self.walk_notes.note(walker_id, 0, (url, page))

    def walk_ended(self, walker_id: str, how: str) -> None:
        """The walker reached the listing's end (frontier.END) or known articles (KNOWN)."""
        walker = self.progress.walkers.get(walker_id)
        if walker is not None:
            walker.outcome = how
        else:
            self.walk_notes.note(walker_id, 1, how)

    def asked(self, url: str, kind: str, via: str | None, section: dict | None = None) -> None:
        self.progress.ask(url, kind, via, section)

    def answered_badly(self, url: str, what: str, status: int | None = None) -> None:
        """A page of `url` came back, but not as a good page ("empty page", "HTTP 404", …):
        a try counted against it, unless its `status` says "come back later"."""
        if status in COME_BACK_LATER:
            self.progress.fail(url, what)
        else:
            self.progress.answer(url, what)

    def failed(self, url: str, what: str) -> None:
        """Fetching `url` failed (a network failure, a retry abandoned): not a try."""
        self.progress.fail(url, what)

    def refused(self, url: str) -> None:
        """An article URL robots.txt forbids: not archived, not a bad answer."""
        self.progress.refused.add(url)

    def produced(self, fetched_url: str, url: str) -> None:
        """The page fetched as `fetched_url` is the article `url` (redirects, AMP twins)."""
        if fetched_url != url:
            self.progress.produced[fetched_url] = url

    def image_archived(self, url: str, pending_record) -> None:
        self.archived.add_image(url, pending_record)

    def changes_read(self) -> None:
        """The portal's list of changes was read to its last page."""
        self._changes_read = True

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

    def remember(self, item, version: int, capture: ArticleCapture | None) -> None:
        """A new version, known once its record and its item are stored (`finish`)."""
        if self.state is None:
            return
        self.archived.versions[item.url] = KnownArticle(
            url=item.url,
            version=version,
            content_sha256=item.content_sha256,
            published_at=item.published_at,
            modified_at=item.modified_at,
            crawled_at=item.crawled_at,
            capture=capture,
            images=tuple(image["url"] for image in item.images),
        )

    def recaptured(self, url: str, capture: ArticleCapture) -> None:
        """A known version archived again with a new payload: later revisits refer to it."""
        self.archived.recaptured[url] = capture

    # -- signals -----------------------------------------------------------

    def response_received(self, response, request, spider):
        if response.status < 400:
            return
        # Error statuses the spider never sees (no callback runs for them) are counted as
        # bad answers here; the spider notes the others (empty pages, no article, …).
        first = request.meta.get("redirect_urls", [request.url])[0]
        url = spider.config.urls.canonical(first)
        self.answered_badly(url, f"HTTP {response.status}", response.status)

    def item_scraped(self, item, response, spider):
        url = getattr(item, "url", None)
        if url is not None:
            self.archived.exported.add(url)

    def item_dropped(self, item, response, exception, spider):
        fetched = getattr(item, "fetched_url", None)
        if fetched is not None and "unchanged since version" not in str(exception):
            self.progress.answer(spider.config.urls.canonical(fetched), f"dropped: {exception}")

    def request_dropped(self, request, spider):
        # A redirect to a page this crawl already asked for (a renamed slug, an alias): the
        # duplicate filter drops it, and the page it leads to answers for the old address.
        redirected = request.meta.get("redirect_urls")
        if redirected:
            urls = spider.config.urls
            self.produced(urls.canonical(redirected[0]), urls.canonical(request.url))

    def spider_opened(self, spider):
        if self.lock is not None:
            self._renewal = create_looping_call(self._renew)
            self._renewal.start(self.lock.ttl.total_seconds() / 3, now=False)

    # -- a distributed crawl's workers (crawler/distributed/finishing.py) -------

    def part(self) -> bytes:
        """What this worker did, for the finishing worker (pickled: same software,
        exchanged through the crawl's own archive store)."""
        return pickle.dumps(
            (self.archived.portable(), self.progress, self.walk_notes, self.changed,
             self._changes_read),
            protocol=pickle.HIGHEST_PROTOCOL,
        )  # fmt: skip

    def merge_part(self, data: bytes) -> None:
        """Add another worker's ``part`` to this run's record (before ``finish``)."""
        archived, progress, notes, changed, changes_read = pickle.loads(data)  # noqa: S301
        self.archived.merge(archived)
        merge_progress(self.progress, progress)
        self.walk_notes.merge(notes)
        self.changed |= changed
        self._changes_read = self._changes_read or changes_read

    # -- the end -----------------------------------------------------------

    async def finish(self, stored_keys: set[str], reason: str) -> None:
        """Commit what the archive store now holds (`stored_keys`: the crawl's files stored
        and verified) and save the state with what is left undone."""
        if self.state is None:
            return
        try:
            self.walk_notes.apply(self.progress)
            report = self._commit(stored_keys)
            crawl = {
                "crawl_id": self.crawl_id,
                "mode": self.mode,
                "started_at": self.started_at.isoformat(),
                "finished_at": datetime.now(UTC).isoformat(),
                "finish_reason": reason,
                "items": self.stats.get_value("items/accepted", 0),
                "walk_complete": walk_complete(report),
                "changes_covered": self._changes_covered(report),
            }
            # A Deferred cannot be awaited in an asyncio task ("bad yield"): wrap it.
            # Still ours? (StateLockLost: another run took it over, its state wins.)
            if self.lock is not None:
                await maybe_deferred_to_future(deferToThread(self.lock.renew))
            await maybe_deferred_to_future(deferToThread(self.state.save, self.store, crawl))
            self.stats.set_value("incremental/known_articles", len(self.state.articles))
        except StorageError as exc:
            self.stats.set_value("incremental/state_not_saved", 1)
            logger.error("incremental state not saved (%s): the next crawl repeats this one", exc)

    async def close(self, release: bool = True) -> None:
        """Stop renewing the lock and release it (whatever happened before); a worker of a
        distributed crawl that does not finish it leaves it to the others."""
        if self._renewal is not None and self._renewal.running:
            self._renewal.stop()
        if self.lock is not None and release:
            await maybe_deferred_to_future(deferToThread(self.lock.release))

    def _commit(self, stored_keys: set[str]) -> FrontierReport:
        lost, images = self.archived.commit(self.state, stored_keys)
        if lost:
            self.stats.set_value("incremental/not_committed", lost)
            logger.warning(
                "%d articles of this crawl are not in the archive store (item or WARC record "
                "not stored): not recorded as archived; the next crawl fetches them again",
                lost,
            )

        def done(url: str) -> bool:
            return url in self.state.articles or url in images

        report = self.state.frontier.after_run(self.progress, done, self.max_tries)
        self._report(report)
        return report

    def _changes_covered(self, report: FrontierReport) -> bool:
        if self.mode == FULL:
            return walk_complete(report)
        return self._changes_read

    def _report(self, report: FrontierReport) -> None:
        stats = self.stats
        stats.set_value("frontier/sections", report.sections)
        stats.set_value("frontier/incomplete_walks", report.incomplete_walks)
        stats.set_value("frontier/resume_points", report.resume_points)
        stats.set_value("frontier/pending", report.pending)
        stats.set_value("frontier/unfetched", report.unfetched)
        stats.set_value("frontier/retry_later", report.retried_later)
        stats.set_value("frontier/given_up", report.given_up)
        stats.set_value("frontier/refused", report.refused)
        if report.given_up_now:
            stats.set_value("frontier/given_up_now", report.given_up_now)
            logger.warning(
                "%d pages gave a bad answer in %d runs: given up (until the portal says they "
                "changed)",
                report.given_up_now,
                self.max_tries,
            )
        if report.incomplete_walks or report.pending:
            logger.info(
                "left for the next run: %d listing walks to go on (%d places), %d pages to fetch",
                report.incomplete_walks,
                report.resume_points,
                report.pending,
            )

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


def walk_complete(report: FrontierReport) -> bool:
    """The portal has been walked to its end: every listing once, every page found asked
    (pages that answered badly are tried again later, but were asked)."""
    return report.sections > 0 and not report.incomplete_walks and not report.unfetched


__all__ = ["ARTICLE", "FULL", "IMAGE", "INCREMENTAL", "IncrementalCrawl"]
