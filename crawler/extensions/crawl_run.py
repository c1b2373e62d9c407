"""One crawl run: announces it, and leaves its manifest and a summary."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from scrapy import signals

from crawler.storage_uri import archive_root_uri, local_path

logger = logging.getLogger(__name__)


def _json_safe(value):
    if isinstance(value, datetime):
        return value.isoformat()
    return value


class CrawlRunExtension:
    """Writes ``crawls/<crawl_id>/manifest.json`` (crawl id, portal, times,
    finish reason, final stats) when the spider closes, and logs a summary."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.crawl_id = crawler.settings.get("CRAWL_ID")
        self.root = archive_root_uri(crawler.settings.get("ARCHIVE_URI"))
        self.started_at: datetime | None = None
        self.finish_reason: str | None = None

    @classmethod
    def from_crawler(cls, crawler):
        extension = cls(crawler)
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

    def engine_stopped(self):
        # Last: after every spider_closed handler (WARC files closed and
        # moved, feeds stored) has run, so the stats are final.
        if self.started_at is None:
            return  # the spider never opened: nothing ran, nothing to record
        reason = self.finish_reason
        stats = self.crawler.stats.get_stats()
        manifest = {
            "crawl_id": self.crawl_id,
            "portal": self.crawler.settings.get("PORTAL_URL"),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": datetime.now(UTC).isoformat(),
            "finish_reason": reason,
            "stats": {key: _json_safe(value) for key, value in sorted(stats.items())},
        }
        path = local_path(self.root) / "crawls" / self.crawl_id / "manifest.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        logger.info(
            "crawl %s finished (%s): %d items, %d responses; items in %s/items/%s.jsonl.gz; "
            "manifest %s",
            self.crawl_id,
            reason,
            stats.get("items/accepted", 0),
            stats.get("downloader/response_count", 0),
            self.root,
            self.crawl_id,
            path,
        )
