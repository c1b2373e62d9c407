"""Validation and per-crawl de-duplication."""

from __future__ import annotations

import logging

from scrapy.exceptions import DropItem

from crawler.items import ArticleItem
from crawler.urls import UrlSet

logger = logging.getLogger(__name__)

REQUIRED_FIELDS = ("url", "title", "body")


class ValidationPipeline:
    """Drop an item missing url, title or body, saying which and where."""

    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_item(self, item):
        if not isinstance(item, ArticleItem):
            return item
        for name in REQUIRED_FIELDS:
            if not getattr(item, name):
                self.stats.inc_value(f"items/dropped/no_{name}")
                raise DropItem(f"no {name} extracted from {item.fetched_url}")
        if not item.published_at:
            self.stats.inc_value("items/missing/published_at")
            logger.warning("no publication date found on %s", item.url)
        return item


class DeduplicationPipeline:
    """One item per canonical URL within a crawl (AMP twins, redirects,
    query variants all canonicalise to the same URL)."""

    def __init__(self, stats):
        self.stats = stats
        self.seen = UrlSet()

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_item(self, item):
        if not isinstance(item, ArticleItem):
            return item
        if item.url in self.seen:
            self.stats.inc_value("items/dropped/duplicate")
            raise DropItem(f"duplicate of {item.url} (fetched as {item.fetched_url})")
        self.seen.add(item.url)
        return item
