"""Final stamps: content digest and crawl id."""

from __future__ import annotations

import hashlib

from crawler.items import ArticleItem


def content_sha256(title: str | None, sapo: str | None, body: str | None) -> str:
    """Digest of the cleaned title, sapo and body, blank-line separated."""
    text = "\n\n".join((title or "", sapo or "", body or ""))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class StampPipeline:
    def __init__(self, crawl_id: str, stats):
        self.crawl_id = crawl_id
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.get("CRAWL_ID"), crawler.stats)

    def process_item(self, item):
        if not isinstance(item, ArticleItem):
            return item
        item.content_sha256 = content_sha256(item.title, item.sapo, item.body)
        item.crawl_id = self.crawl_id
        self.stats.inc_value("items/accepted")
        return item
