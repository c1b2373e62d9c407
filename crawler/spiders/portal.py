"""The ``portal`` spider: home → sections → listing pages → articles → "Tin khác".

scrapy crawl portal -a portal_url=https://thanhphohaiphong.gov.vn/
"""

from __future__ import annotations

import functools
import logging
from datetime import UTC, datetime
from urllib.parse import urljoin

import scrapy

from crawler.browser import RENDER_META, render_meta
from crawler.config import BrowserConfig, LimitsConfig, PortalConfig
from crawler.distributed.coordinator import Coordinator
from crawler.extract import ExtractionError, extract_article
from crawler.extract.links import article_links, menu_sections, next_listing_page
from crawler.incremental.changes import changes_url
from crawler.incremental.crawl import IncrementalCrawl
from crawler.incremental.frontier import ARTICLE, END, IMAGE, KNOWN
from crawler.items import ArticleItem
from crawler.middlewares.warc import WARC_META
from crawler.outlinks import announces_outlinks
from crawler.spiders.answers import PageAnswers, first_url
from crawler.spiders.bounds import DEPTH_META, CrawlBounds
from crawler.spiders.seeds import SeedSources
from crawler.urls import UrlSet

logger = logging.getLogger(__name__)

# Articles before listings: the frontier stays small and items flow early. An article found
# along "Tin khác" links loses a point per hop (DEPTH_META): past 10 hops it waits behind
# listing pages, so that an endless chain never starves them.
ARTICLE_PRIORITY = 10
IMAGE_PRIORITY = 5
LISTING_PRIORITY = 0


class PortalSpider(SeedSources, PageAnswers, scrapy.Spider):
    name = "portal"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Article URLs this spider already asked for: most "Tin khác" links
        # repeat, and skipping them here saves building requests the
        # duplicate filter would drop anyway (the filter stays the authority).
        self._requested = UrlSet()

    @classmethod
    def from_crawler(cls, crawler, *args, portal_url: str | None = None, **kwargs):
        # Spider arguments are settings like any other: one place to read them. An empty
        # one too: it is refused, never replaced by the default portal.
        if portal_url is not None:
            crawler.settings.set("PORTAL_URL", portal_url, priority="spider")
        spider = super().from_crawler(crawler, *args, **kwargs)
        # Read and checked before anything is fetched: bad settings fail fast.
        spider.config = PortalConfig.from_settings(crawler.settings)
        spider.browser = BrowserConfig.from_settings(crawler.settings)
        spider.limits = LimitsConfig.from_settings(crawler.settings)
        spider.bounds = CrawlBounds(spider.limits, crawler)
        return spider

    @functools.cached_property
    def incremental(self) -> IncrementalCrawl | None:
        """The crawl's incremental mode (crawler/incremental/), or None when it is off."""
        return self.crawler.get_extension(IncrementalCrawl)

    def _wants(self, url: str) -> bool:
        """Whether to ask for the article at `url`: not asked for yet, and not skipped as
        already archived (incremental mode)."""
        if url in self._requested:
            return False
        return self.incremental is None or self.incremental.wants(url)

    async def start(self):
        coordinator = self.crawler.get_extension(Coordinator)
        if coordinator is not None and not coordinator.claim_seeding():
            return  # a distributed crawl: another worker seeds it
        async for request in self._seeds():
            yield request
        if coordinator is not None:
            coordinator.seeded()

    async def _seeds(self):
        yield scrapy.Request(self.config.url, callback=self.parse_home, errback=self.on_error)
        incremental = self.incremental
        if incremental is not None and incremental.active:
            since = incremental.changes_since()
            if since is not None:
                yield self._seed_request(changes_url(self.config.url, since), self.parse_changes)
        for section in self.config.sections:
            # A configured section's name comes from its articles' pages.
            hint = {"name": None, "slug": self.config.urls.slug(section)}
            yield self._walk_request(section, hint)
        if incremental is not None:
            # What earlier runs left undone: listing walks cut short, pages not archived.
            for listing, section, point in incremental.resume_points():
                logger.info("resuming the walk of %s at page %d", listing, point.page)
                yield self._walk_request(listing, section, point)
            for page in incremental.pending_pages():
                if page.kind == IMAGE:
                    yield self._image_request(page.url, via=page.via)
                elif page.url not in self._requested:
                    yield self._article_request(page.url, via=page.via, section=page.section)
        if self.config.seed_sitemap:
            yield self._seed_request(urljoin(self.config.url, "wp-sitemap.xml"), self.parse_sitemap)
        if self.config.seed_feeds:
            yield self._seed_request(urljoin(self.config.url, "feed/"), self.parse_feed)

    # -- home and listings -------------------------------------------------

    @announces_outlinks
    def parse_home(self, response):
        doc = self._document(response, "home")
        if doc is None:
            return
        urls, rules = self.config.urls, self.config.rules
        if not self.config.sections:
            sections = menu_sections(doc, response.url, urls, self.config.url, rules)
            self.crawler.stats.set_value("sections/discovered", len(sections))
            if not sections:
                logger.error("no sections found in the menu of %s", response.url)
            for url, name in sections:
                yield self._walk_request(url, {"name": name, "slug": urls.slug(url)})
        for url in self._take_links(article_links(doc, response.url, urls), response.url, None):
            if self._wants(url):
                yield self._article_request(url, via=response.url)

    @announces_outlinks
    def parse_listing(
        self,
        response,
        section: dict,
        page: int,
        previous: tuple = (),
        walk: str | None = None,
        may_stop: bool = False,
    ):
        """One page of a section's listing: its articles, then the next page. ``walk`` is
        the walker (incremental state: where a walk cut short goes on next time);
        ``may_stop``: whether a page of known articles ends the walk."""
        doc = self._document(response, "listing")
        if doc is None:
            return  # the walk stops here; the next run goes on from the page before
        self.crawler.stats.inc_value("listing/pages")
        if walk is not None:
            self.incremental.listing_read(walk, response.url, page)
        links = self._take_links(
            article_links(doc, response.url, self.config.urls), response.url, section
        )
        # Links asked for before this page (the home page, the sidebar's latest posts on
        # every listing page) say nothing about how far this listing has news.
        fresh = [url for url in links if url not in self._requested]
        for url in links:
            if self._wants(url):
                yield self._article_request(url, via=response.url, section=section)
        next_url = next_listing_page(doc, response.url, self.config.urls)
        if next_url is None or not links:
            self._walk_ended(walk, END)
            return
        if may_stop and self.incremental.all_known(fresh):
            # Incremental: a page of only archived articles in a listing walked to its end
            # before; older pages hold older ones.
            self.crawler.stats.inc_value("incremental/listing_stopped")
            logger.info("listing %s holds only known articles; section done", response.url)
            self._walk_ended(walk, KNOWN)
            return
        if not set(links) - set(previous):
            # A paginator that clamps or loops serves the same page forever.
            self.crawler.stats.inc_value("listing/repeated")
            logger.info("listing %s repeats the previous page; section done", response.url)
            self._walk_ended(walk, END)
            return
        if self.bounds.stale_walk(response.url, section, links):
            self._walk_ended(walk, END)
            return
        if page >= self.config.max_listing_pages:
            self.bounds.reached(
                "listing_pages",
                1,
                "listing %s stopped at PORTAL_MAX_LISTING_PAGES=%d",
                response.url,
                page,
            )
            self._walk_ended(walk, END)
            return
        yield self._listing_request(
            next_url, section, page=page + 1, previous=tuple(links), walk=walk, may_stop=may_stop
        )

    def _walk_ended(self, walk: str | None, how: str) -> None:
        if walk is not None:
            self.incremental.walk_ended(walk, how)

    # -- articles ----------------------------------------------------------

    @announces_outlinks
    def parse_article(self, response, section: dict | None = None):
        text = self._page_text(response, "article")
        if text is None:
            return
        try:
            raw = extract_article(text, response.url, self.config.urls, self.config.rules)
        except ExtractionError as exc:
            self.crawler.stats.inc_value("pages/unparseable")
            logger.warning("cannot read article %s: %s", response.url, exc)
            self._bad_answer(response, f"unreadable: {exc}")
            return
        if raw.related_scripted and not response.meta.get(RENDER_META):
            if self.browser.enabled and self.browser.render_auto:
                # The item comes from the rendered page, not from this static copy.
                yield self._render_again(response, section, "missing_related")
                return
            self.crawler.stats.inc_value("browser/needed_not_rendered")
            logger.warning("%s builds its Tin khác by script; not rendered", response.url)
        fetched_url = first_url(response.request)
        if self.incremental is not None:
            self.incremental.produced(fetched_url, raw.url)
        item = ArticleItem.from_raw(raw, fetched_url=fetched_url)
        item.crawled_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        item.warc = response.meta.get(WARC_META)
        yield item
        if self.config.fetch_images:
            for image in raw.images:
                if self.config.urls.in_scope(image["url"]) and (
                    self.incremental is None or self.incremental.wants_image(image["url"])
                ):
                    yield self._image_request(image["url"], via=response.url)
        if not self.config.follow_related:
            return
        related = [link["url"] for link in raw.related if self.config.urls.is_article(link["url"])]
        if len(related) < len(raw.related):
            self.crawler.stats.inc_value("links/offsite_related", len(raw.related) - len(related))
        depth = response.meta.get(DEPTH_META, 0) + 1
        wanted = [url for url in self._take_links(related, response.url, None) if self._wants(url)]
        if wanted and depth > self.limits.related_depth:
            self._over_limit("related_depth", wanted, via=response.url, section=None)
            return
        for url in wanted:
            yield self._article_request(url, via=response.url, depth=depth)

    def parse_image(self, response):
        """Nothing to extract: fetching the image archived it."""
        self.crawler.stats.inc_value("images/fetched")
        pending = response.meta.get(WARC_META)
        if self.incremental is not None and pending is not None:
            self.incremental.image_archived(first_url(response.request), pending)
        return ()

    # -- helpers -----------------------------------------------------------

    def _walk_request(self, listing: str, section: dict, start=None):
        """The first request of a walk through ``listing``: from its first page, or from
        ``start``, where an earlier run's walk was cut short."""
        url, page = (start.url, start.page) if start is not None else (listing, 1)
        walk, may_stop = None, False
        if self.incremental is not None:
            walk, may_stop = self.incremental.walk(listing, section, start)
        # A resumed walk reads its start page again: the request must not be filtered
        # as a duplicate of the same page read by another walk of this run.
        return self._listing_request(
            url, section, page, walk=walk, may_stop=may_stop, dont_filter=start is not None
        )

    def _listing_request(
        self,
        url: str,
        section: dict,
        page: int,
        previous: tuple = (),
        walk: str | None = None,
        may_stop: bool = False,
        dont_filter: bool = False,
    ):
        return scrapy.Request(
            url,
            callback=self.parse_listing,
            errback=self.on_error,
            priority=LISTING_PRIORITY,
            cb_kwargs={
                "section": section,
                "page": page,
                "previous": previous,
                "walk": walk,
                "may_stop": may_stop,
            },
            meta=self._render_meta(url, section),
            dont_filter=dont_filter,
        )

    def _render_meta(self, url: str, section: dict | None) -> dict:
        """Meta that sends the request through the browser, if the configuration says so."""
        reason = self.browser.configured_reason(url, section["slug"] if section else None)
        return render_meta(reason) if reason else {}

    def _render_again(self, response, section: dict | None, reason: str):
        """The same page once more, through the browser."""
        meta = {key: response.meta[key] for key in ("via", DEPTH_META) if key in response.meta}
        return response.request.replace(
            dont_filter=True,
            meta={**meta, **render_meta(reason)},
            cb_kwargs={"section": section},
        )

    def _image_request(self, url: str, via: str | None):
        if self.incremental is not None:
            self.incremental.asked(url, IMAGE, via)
        return scrapy.Request(
            url,
            callback=self.parse_image,
            errback=self.on_error,
            priority=IMAGE_PRIORITY,
            meta={"via": via},
        )

    def _seed_request(self, url: str, callback, cb_kwargs: dict | None = None):
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.on_error,
            priority=LISTING_PRIORITY,
            cb_kwargs=cb_kwargs or {},
        )

    def _article_request(
        self, url: str, via: str | None, section: dict | None = None, depth: int = 0
    ):
        self._requested.add(url)
        if self.incremental is not None:
            self.incremental.asked(url, ARTICLE, via, section)
        return scrapy.Request(
            url,
            callback=self.parse_article,
            errback=self.on_error,
            priority=ARTICLE_PRIORITY - depth,
            cb_kwargs={"section": section},
            meta={"via": via, DEPTH_META: depth, **self._render_meta(url, section)},
        )

    # -- bounds (crawler/spiders/bounds.py) ---------------------------------

    def _take_links(self, links: list[str], via: str, section: dict | None) -> list[str]:
        """The first PORTAL_MAX_LINKS_PER_PAGE article links of page `via`, once each; the
        rest that would have been asked for go to `_over_limit`."""
        taken, rest = self.bounds.split_links(links)
        left = [url for url in rest if self._wants(url)]
        if left:
            self._over_limit("links_per_page", left, via=via, section=section)
        return taken

    def _over_limit(self, limit: str, urls: list[str], via: str, section: dict | None) -> None:
        """The one place where article URLs are left unrequested because a bound was reached
        (`limit`: links_per_page, related_depth): counted (``limits/<limit>``, one per URL)
        and logged once for the page `via` that linked them (in `section`, if known).

        The articles a chain of "Tin khác" links goes on to are left for the next run (the
        incremental state's pending pages: each run walks a chain so far). Links past the
        per-page limit are not: a page that lists more is hostile or broken, and remembering
        them would let it past the limit in the next run."""
        self.bounds.links_left(limit, via, urls)
        if limit == "related_depth" and self.incremental is not None:
            for url in urls:
                self.incremental.asked(url, ARTICLE, via, section)

    def closed(self, reason: str) -> None:
        self.bounds.crawl_closed(reason)
