"""The pages list of a crawl's WACZ, written as items pass (never held in memory)."""

from __future__ import annotations

import json
from pathlib import Path

from scrapy.exceptions import NotConfigured

from crawler.config import WarcConfig
from crawler.items import ArticleItem
from crawler.publishing.spool import CrawlSpool


def page_entry(item: ArticleItem) -> dict:
    """A WACZ ``pages.jsonl`` line: what ReplayWeb.page lists and searches."""
    text = "\n\n".join(part for part in (item.sapo, item.body) if part)
    return {"url": item.fetched_url, "ts": item.crawled_at, "title": item.title, "text": text}


class WaczPagesPipeline:
    """Appends one line per exported article to the crawl's pages list."""

    def __init__(self, path: Path):
        self.path = path
        self._file = None

    @classmethod
    def from_crawler(cls, crawler):
        config = WarcConfig.from_settings(crawler.settings)
        if not config.enabled:
            raise NotConfigured("WARC_ENABLED is off")
        # Kept in the crawl's spool until its WACZ is built.
        return cls(CrawlSpool(config.spool_dir, crawler.settings.get("CRAWL_ID")).pages_path)

    def open_spider(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")

    def process_item(self, item):
        if isinstance(item, ArticleItem):
            self._file.write(json.dumps(page_entry(item), ensure_ascii=False) + "\n")
            self._file.flush()
        return item

    def close_spider(self):
        if self._file is not None:
            self._file.close()
