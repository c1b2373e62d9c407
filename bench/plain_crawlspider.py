"""The anchor a Scrapy user would compare with: plain Scrapy's ``CrawlSpider`` following
every link a ``LinkExtractor`` finds on every page of the portal's host, archiving nothing.

    scrapy runspider bench/plain_crawlspider.py -a portal_url=URL -a stats_file=OUT.json
"""

import json
from pathlib import Path
from urllib.parse import urlsplit

from scrapy.linkextractors import LinkExtractor
from scrapy.spiders import CrawlSpider, Rule


class PlainCrawlSpider(CrawlSpider):
    name = "plain_crawlspider"

    def __init__(self, portal_url: str, stats_file: str = "", **kwargs):
        self.start_urls = [portal_url]
        self.allowed_domains = [urlsplit(portal_url).hostname]
        self.rules = (Rule(LinkExtractor(), callback="parse_page", follow=True),)
        self.stats_file = stats_file
        super().__init__(**kwargs)

    def parse_page(self, response):
        self.crawler.stats.inc_value("bench/pages")

    def closed(self, reason):
        if self.stats_file:
            stats = {
                key: str(value) if not isinstance(value, (int, float)) else value
                for key, value in self.crawler.stats.get_stats().items()
            }
            Path(self.stats_file).write_text(json.dumps(stats), encoding="utf-8")
