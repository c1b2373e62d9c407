"""The pages list of a crawl's WACZ, written as items pass (never held in memory); only when
the crawl packs its WACZ at its end (``WACZ_ENABLED``), with the page text if
``WACZ_PAGE_TEXT``."""

from __future__ import annotations

import json
from pathlib import Path

from scrapy.exceptions import NotConfigured

from crawler.config import StoredConfig, WarcConfig
from crawler.items import ArticleItem
from crawler.publishing.spool import CrawlSpool
from crawler.publishing.wacz_export import page_entry


class WaczPagesPipeline:
    """Appends one line per exported article to the crawl's pages list."""

    def __init__(self, path: Path, text: bool = False):
        self.path = path
        self.text = text
        self._file = None

    @classmethod
    def from_crawler(cls, crawler):
        config = WarcConfig.from_settings(crawler.settings)
        if not config.enabled:
            raise NotConfigured("WARC_ENABLED is off")
        stored = StoredConfig.from_settings(crawler.settings)
        if not stored.wacz:
            raise NotConfigured("WACZ_ENABLED is off: no WACZ at the crawl's end")
        # Kept in the crawl's spool until its WACZ is built.
        spool = CrawlSpool(config.spool_dir, crawler.settings.get("CRAWL_ID"))
        return cls(spool.pages_path, stored.wacz_page_text)

    def open_spider(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")

    def process_item(self, item):
        if isinstance(item, ArticleItem):
            fields = {
                "fetched_url": item.fetched_url,
                "crawled_at": item.crawled_at,
                "title": item.title,
                "sapo": item.sapo,
                "body": item.body,
            }
            line = json.dumps(page_entry(fields, self.text), ensure_ascii=False)
            self._file.write(line + "\n")
            self._file.flush()
        return item

    def close_spider(self):
        if self._file is not None:
            self._file.close()
