"""The baseline: a plain Scrapy spider that only fetches a given list of URLs.

It does no parsing, extraction or item work, so its throughput is the upper
bound for a crawl of the same pages with the same settings.
"""

from pathlib import Path

import scrapy


class FetchOnlySpider(scrapy.Spider):
    name = "fetch_only"

    def __init__(self, urls: str, **kwargs):
        super().__init__(**kwargs)
        self.url_file = Path(urls)

    async def start(self):
        for url in self.url_file.read_text(encoding="utf-8").split():
            yield scrapy.Request(url, callback=self.parse, dont_filter=True)

    def parse(self, response):
        self.crawler.stats.inc_value("bench/pages")
