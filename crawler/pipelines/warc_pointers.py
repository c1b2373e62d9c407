"""Resolve each item's `warc` field to where its response record landed."""

from __future__ import annotations

import logging

from scrapy.exceptions import DropItem, NotConfigured

from crawler.archive.writer import PendingRecord
from crawler.config import WarcConfig
from crawler.items import ArticleItem

logger = logging.getLogger(__name__)


class WarcPointerPipeline:
    """The spider hands over the pending record; the writer process says where it went.

    An item whose record could not be written is dropped: an item must point at its capture.
    """

    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        if not WarcConfig.from_settings(crawler.settings).enabled:
            raise NotConfigured("WARC_ENABLED is off")
        return cls(crawler.stats)

    async def process_item(self, item):
        if not isinstance(item, ArticleItem) or not isinstance(item.warc, PendingRecord):
            return item
        try:
            item.warc = await item.warc.pointer()
        except Exception as exc:
            self.stats.inc_value("items/dropped/unarchived")
            raise DropItem(f"its WARC record could not be written: {exc}") from exc
        return item
