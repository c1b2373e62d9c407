"""Extraction as the crawl does it, outside Scrapy: extractor + cleaning pipelines."""

from __future__ import annotations

from dataclasses import asdict

from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from crawler.config import PortalConfig
from crawler.extract import extract_article
from crawler.items import ArticleItem
from crawler.pipelines.clean import CleanTextPipeline
from crawler.pipelines.dates import DatesPipeline
from crawler.pipelines.stamp import StampPipeline
from crawler.spiders.portal import PortalSpider
from tests.helpers import project_settings


def extract_item(html: str, url: str, portal_url: str) -> dict:
    """The item the crawl would export for ``html`` fetched from ``url``."""
    values = project_settings(PORTAL_URL=portal_url, CRAWL_ID="golden")
    config = PortalConfig.from_settings(Settings(values))
    crawler = get_crawler(PortalSpider, settings_dict=values)
    crawler.stats.open_spider()
    raw = extract_article(html, url, config.urls, config.rules)
    item = ArticleItem.from_raw(raw, fetched_url=url)
    for pipeline in (CleanTextPipeline, DatesPipeline, StampPipeline):
        item = pipeline.from_crawler(crawler).process_item(item)
    return asdict(item)
