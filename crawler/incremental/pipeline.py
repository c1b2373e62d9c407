"""Versions: which version of an article an item is, and which capture it replaces."""

from __future__ import annotations

import logging

from scrapy.exceptions import DropItem, NotConfigured

from crawler.archive.writer import PendingRecord
from crawler.incremental.crawl import IncrementalCrawl
from crawler.incremental.state import ArticleCapture
from crawler.items import ArticleItem
from crawler.pipelines.stamp import content_sha256

logger = logging.getLogger(__name__)


class VersionPipeline:
    """Numbers each article's versions against the incremental state and remembers the new.

    Runs before the WARC pointer is resolved (it reads the whole location: the payload
    digest and date a later revisit record refers to). An article whose content and modified
    date are what was archived before is no new version: in incremental mode it gives no item
    (`items/dropped/unchanged`); in a full crawl its item keeps its version number.
    """

    def __init__(self, crawler, crawl_id: str):
        self.crawler = crawler
        self.crawl_id = crawl_id
        self._incremental: IncrementalCrawl | None = None

    def open_spider(self):
        self._incremental = self.crawler.get_extension(IncrementalCrawl)

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("INCREMENTAL_ENABLED"):
            raise NotConfigured("INCREMENTAL_ENABLED is off")
        return cls(crawler, crawler.settings.get("CRAWL_ID"))

    async def process_item(self, item):
        incremental = self._incremental
        if not isinstance(item, ArticleItem) or incremental is None or incremental.state is None:
            return item
        digest = content_sha256(item.title, item.sapo, item.body)
        capture = await self._capture(item.warc)
        verdict = incremental.version(item.url, digest, item.modified_at)
        if verdict is None:
            known = incremental.state.known(item.url)
            if incremental.active:
                self.crawler.stats.inc_value("items/dropped/unchanged")
                raise DropItem(f"unchanged since version {known.version}: {item.url}")
            item.version, item.replaces = known.version, None
            previous = known.capture
            if capture is not None and (
                previous is None or capture.payload_digest != previous.payload_digest
            ):
                # A new payload of the same version: later revisits refer to it. (The same
                # payload was written as a revisit of the capture already known.)
                incremental.recaptured(item.url, capture)
            return item
        item.version, item.replaces = verdict
        if item.replaces is not None:
            self.crawler.stats.inc_value("incremental/new_versions")
        item.content_sha256 = digest
        incremental.remember(item, item.version, capture)
        return item

    async def _capture(self, pending) -> ArticleCapture | None:
        if not isinstance(pending, PendingRecord):
            return None
        try:
            location = (await pending.written)[0]
        except Exception:
            return None  # the pointer pipeline drops the item and says why
        return ArticleCapture(
            crawl_id=self.crawl_id,
            filename=location.filename,
            offset=location.offset,
            length=location.length,
            record_id=location.record_id,
            warc_date=location.warc_date,
            payload_digest=location.payload_digest,
        )
