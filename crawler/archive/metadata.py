"""Spider middleware: a WARC ``metadata`` record per parsed page.

It lists the page's outlinks (the requests its callback made) and its via,
next to the page's response record; the writing itself is the archive
middleware's.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.http import TextResponse

from crawler.archive.middleware import WarcArchiveMiddleware
from crawler.config import WarcConfig


class WarcMetadataMiddleware:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        if not WarcConfig.from_settings(crawler.settings).enabled:
            raise NotConfigured("WARC_ENABLED is off")
        return cls(crawler)

    # Universal middleware (both forms): the spider's callbacks are plain
    # generators, and a sync form spares Scrapy an async wrapper per output.
    def process_spider_output(self, response, result):
        outlinks: list[str] = []
        for entry in result:
            if isinstance(entry, Request):
                outlinks.append(entry.url)
            yield entry
        self._write(response, outlinks)

    async def process_spider_output_async(self, response, result):
        outlinks: list[str] = []
        async for entry in result:
            if isinstance(entry, Request):
                outlinks.append(entry.url)
            yield entry
        self._write(response, outlinks)

    def _write(self, response, outlinks: list[str]) -> None:
        if not isinstance(response, TextResponse):
            return  # images and other media: no page, no outlinks
        archive = self.crawler.get_downloader_middleware(WarcArchiveMiddleware)
        if archive is not None:
            archive.write_metadata(response, outlinks)
