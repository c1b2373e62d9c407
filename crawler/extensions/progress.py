"""A progress line every PROGRESS_INTERVAL seconds: pages, items, WARC bytes, rates.

One line an operator (or a log collector) reads at a glance while a scheduled crawl runs:

    progress: 1,204 pages (+212, 3.5/s), 498 items (+87), 14.2 MB WARC, 2 errors

It replaces Scrapy's LogStats line (LOGSTATS_INTERVAL is 0 in our settings).
"""

from __future__ import annotations

import logging
import time

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import create_looping_call

logger = logging.getLogger(__name__)


class ProgressExtension:
    def __init__(self, crawler, interval: float):
        self.crawler = crawler
        self.interval = interval
        self.task = None
        self._last: tuple[float, int, int] | None = None

    @classmethod
    def from_crawler(cls, crawler):
        interval = crawler.settings.getfloat("PROGRESS_INTERVAL")
        if interval <= 0:
            raise NotConfigured("PROGRESS_INTERVAL is 0")
        extension = cls(crawler, interval)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(extension.engine_stopped, signal=signals.engine_stopped)
        return extension

    def spider_opened(self, spider):
        self._last = (time.monotonic(), 0, 0)
        self.task = create_looping_call(self.log_progress)
        self.task.start(self.interval, now=False)

    def spider_closed(self, spider, reason):
        if self.task is not None and self.task.running:
            self.task.stop()

    def engine_stopped(self):
        # After every spider_closed handler: the last WARC records are written by then.
        if self._last is not None:
            self.log_progress(final=True)

    def log_progress(self, final: bool = False) -> None:
        stats = self.crawler.stats
        pages = stats.get_value("response_received_count", 0)
        items = stats.get_value("items/accepted", 0)
        errors = stats.get_value("log_count/ERROR", 0)
        # Kept current by the WARC archive as its writer reports records written.
        warc_bytes = stats.get_value("archive/warc_bytes", 0)
        now = time.monotonic()
        since, pages_before, items_before = self._last or (now, 0, 0)
        elapsed = max(now - since, 1e-9)
        self._last = (now, pages, items)
        logger.info(
            "%s: %s pages (+%s, %.1f/s), %s items (+%s), %.1f MB WARC, %s errors",
            "final" if final else "progress",
            f"{pages:,}",
            f"{pages - pages_before:,}",
            (pages - pages_before) / elapsed,
            f"{items:,}",
            f"{items - items_before:,}",
            warc_bytes / 1e6,
            f"{errors:,}",
            extra={
                "progress": {
                    "pages": pages,
                    "items": items,
                    "warc_bytes": warc_bytes,
                    "pages_per_second": round((pages - pages_before) / elapsed, 2),
                    "errors": errors,
                }
            },
        )
