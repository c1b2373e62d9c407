"""Bounds on what one crawl takes from the portal, as the spider applies them: links per
page, listing walks that list nothing new, and Scrapy's CloseSpider limits on the whole crawl.

A bound reached is counted under ``limits/<name>`` (shown in the crawl report) and logged: a
warning the first time each bound is reached, at INFO after that (never once per link).
"""

from __future__ import annotations

import logging

from crawler.config import LimitsConfig
from crawler.urls import UrlSet, listing_base

logger = logging.getLogger(__name__)

# Hops along "Tin khác" links from an article found some other way (0), in request meta.
DEPTH_META = "related_depth"
# What each limit of article links is set by, for the log.
LINK_LIMIT_SETTINGS = {
    "links_per_page": "PORTAL_MAX_LINKS_PER_PAGE",
    "related_depth": "PORTAL_MAX_RELATED_DEPTH",
}
# The finish reasons of Scrapy's CloseSpider extension: bounds of the whole crawl.
CRAWL_LIMITS = {
    "closespider_pagecount": ("crawl_pages", "CLOSESPIDER_PAGECOUNT"),
    "closespider_timeout": ("crawl_time", "CLOSESPIDER_TIMEOUT"),
    "closespider_itemcount": ("crawl_items", "CLOSESPIDER_ITEMCOUNT"),
    "closespider_errorcount": ("crawl_errors", "CLOSESPIDER_ERRORCOUNT"),
}


class CrawlBounds:
    """The spider's bookkeeping for its limits (one per crawl)."""

    def __init__(self, limits: LimitsConfig, crawler):
        self.limits = limits
        self._crawler = crawler  # its stats exist only once the crawl starts
        # Per listing walk (section): the articles it listed, and how many pages in a row
        # listed none new.
        self._listed: dict[str, UrlSet] = {}
        self._stale_pages: dict[str, int] = {}
        self._warned: set[str] = set()

    def split_links(self, links: list[str]) -> tuple[list[str], list[str]]:
        """A page's article links, once each in page order: those to take, and the rest."""
        links = list(dict.fromkeys(links))
        return links[: self.limits.links_per_page], links[self.limits.links_per_page :]

    def links_left(self, limit: str, via: str, urls: list[str]) -> None:
        """Article links of page `via` left unrequested by `limit`: one count per link."""
        self.reached(
            limit,
            len(urls),
            "%s: %d article links not followed (%s), first %s",
            via,
            len(urls),
            LINK_LIMIT_SETTINGS.get(limit, limit),
            urls[0],
        )

    def stale_walk(self, url: str, section: dict, links: list[str]) -> bool:
        """Whether the listing walk of `section`, now at page `url` listing `links`, has
        listed no new article for PORTAL_MAX_STALE_LISTING_PAGES pages in a row (then the
        walk stops, counted). Articles already requested some other way (a "Tin khác" list
        shows the next page's articles) do not make a page stale: only this walk's own."""
        walk = section.get("slug") or listing_base(url)
        listed = self._listed.get(walk)
        if listed is None:
            listed = self._listed[walk] = UrlSet()
        stale = 0 if not listed.issuperset(links) else self._stale_pages.get(walk, 0) + 1
        listed.update(links)
        self._stale_pages[walk] = stale
        if stale < self.limits.stale_listing_pages:
            return False
        self.reached(
            "stale_listing",
            1,
            "listing %s: %d pages in a row listed no new article "
            "(PORTAL_MAX_STALE_LISTING_PAGES); section done",
            url,
            stale,
        )
        return True

    def crawl_closed(self, reason: str) -> None:
        """A crawl stopped by one of Scrapy's CloseSpider bounds has reached a limit."""
        if reason in CRAWL_LIMITS:
            limit, setting = CRAWL_LIMITS[reason]
            self.reached(
                limit,
                1,
                "crawl stopped at %s=%s; what was fetched is stored",
                setting,
                self._crawler.settings.get(setting),
            )

    def reached(self, limit: str, count: int, message: str, *args) -> None:
        """Count ``limits/<limit>`` and log: a warning the first time, then at INFO."""
        self._crawler.stats.inc_value(f"limits/{limit}", count)
        level = logging.INFO if limit in self._warned else logging.WARNING
        self._warned.add(limit)
        logger.log(level, message, *args)
