"""The portal spider's other sources of article URLs: the WordPress sitemap and feed
(optional seeds), and the REST API's list of posts changed since the last crawl (incremental
mode). A mixin of ``PortalSpider`` (crawler/spiders/portal.py), which makes the requests."""

from __future__ import annotations

import json
import logging

from lxml import etree

from crawler.extract.feeds import feed_links, sitemap_entries
from crawler.incremental.changes import parse_gmt, with_page
from crawler.outlinks import announces_outlinks

logger = logging.getLogger(__name__)


class SeedSources:
    @announces_outlinks
    def parse_sitemap(self, response):
        """WordPress core sitemap: an index of sitemaps, each a list of URLs."""
        try:
            kind, locations = sitemap_entries(response.body)
        except (etree.XMLSyntaxError, StopIteration) as exc:
            self.crawler.stats.inc_value("seeds/bad_sitemap")
            logger.warning("cannot read sitemap %s: %s", response.url, exc)
            return
        urls = self.config.urls
        for location in locations:
            url = urls.canonical(location)
            if kind == "sitemapindex" and urls.in_scope(url):
                yield self._seed_request(url, self.parse_sitemap)
            elif urls.is_article(url):
                # Counted whether or not a listing got there first (that is a race).
                self.crawler.stats.inc_value("seeds/sitemap_articles")
                if self._wants(url):
                    yield self._article_request(url, via=response.url)

    @announces_outlinks
    def parse_feed(self, response):
        urls = self.config.urls
        for link in feed_links(response.body):
            url = urls.canonical(link)
            if urls.is_article(url):
                self.crawler.stats.inc_value("seeds/feed_articles")
                if self._wants(url):
                    yield self._article_request(url, via=response.url)

    @announces_outlinks
    def parse_changes(self, response, page: int = 1):
        """The WordPress REST API's list of posts modified since the last crawl began."""
        stats = self.crawler.stats
        try:
            posts = json.loads(response.text)
            if not isinstance(posts, list):
                raise ValueError(f"a {type(posts).__name__}, not a list of posts")
        except (ValueError, AttributeError) as exc:
            stats.inc_value("incremental/changes_unreadable")
            logger.warning("cannot read the changes list %s: %s", response.url, exc)
            return
        stats.inc_value("incremental/changes_pages")
        urls = self.config.urls
        for post in posts:
            link, modified = post.get("link"), post.get("modified_gmt")
            if not isinstance(link, str):
                continue
            url = urls.canonical(link)
            if not urls.is_article(url):
                continue
            when = parse_gmt(modified)
            if self.incremental.portal_changed(url, when) and url not in self._requested:
                yield self._article_request(url, via=response.url)
        total_pages = response.headers.get(b"X-WP-TotalPages", b"1").decode("latin-1")
        if total_pages.isdigit() and page < min(int(total_pages), self.config.max_listing_pages):
            yield self._seed_request(
                with_page(response.url, page + 1), self.parse_changes, cb_kwargs={"page": page + 1}
            )
        else:
            self.incremental.changes_read()
