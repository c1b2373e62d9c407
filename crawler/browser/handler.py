"""One download handler for http(s): the browser for marked requests, HTTP for the rest.

Scrapy has one handler per scheme, and both our wire-capturing HTTP handler and
scrapy-playwright's want to be it. This one owns both: a request whose meta carries
``RENDER_META`` goes to scrapy-playwright's handler (one per crawl, shared by the http and
https instances), every other request to the HTTP handler the archive needs
(``WireCapturingDownloadHandler``, or Scrapy's own with WARC off).

A rendered page is archived here, from what the browser received: one request/response pair
per network response (document, scripts, styles, images, XHR), the rendered DOM and, if
asked, a screenshot as ``resource`` records. The document's response record goes in
``request.meta[WARC_META]`` as for any page, and the response is flagged so that the archive
middleware does not archive it a second time from Scrapy's objects.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from scrapy.core.downloader.handlers.base import BaseDownloadHandler
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.http import Response
from scrapy.utils.misc import build_from_crawler
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler
from scrapy_playwright.page import PageMethod

from crawler.archive.files import utc_now
from crawler.archive.records import (
    build_browser_exchange_records,
    build_rendered_page_records,
    new_record_id,
)
from crawler.archive.wire import WireCapturingDownloadHandler
from crawler.archive.writer import PendingRecord
from crawler.browser import RENDER_META
from crawler.browser.capture import PageCapture
from crawler.config import BrowserConfig, PortalConfig, WarcConfig
from crawler.middlewares.warc import WARC_META, WarcArchiveMiddleware

logger = logging.getLogger(__name__)

#: Response flag: the browser handler archived this exchange; the archive middleware
#: (crawler/middlewares/warc.py) leaves a response so flagged alone.
ARCHIVED_BY_BROWSER = "archived_by_browser"
# Meta keys set for scrapy-playwright only while it renders (they do not pickle).
_PLAYWRIGHT_META = ("playwright", "playwright_page_init_callback", "playwright_page_methods")


class LazyBrowser:
    """scrapy-playwright's handler, built and started when the first page needs it.

    Built with the crawl, scrapy-playwright would start Playwright's driver (a Node.js
    process) at engine start even when nothing is ever rendered; Chromium itself it
    launches with the first page. Built here on first use, a crawl that renders nothing
    starts neither.
    """

    def __init__(self, crawler):
        self.crawler = crawler
        self._handler: ScrapyPlaywrightDownloadHandler | None = None
        self._lock = asyncio.Lock()

    async def handler(self) -> ScrapyPlaywrightDownloadHandler:
        async with self._lock:
            if self._handler is None:
                handler = build_from_crawler(ScrapyPlaywrightDownloadHandler, self.crawler)
                # What its engine_started receiver does (scrapy-playwright 0.0.48); the
                # engine started long ago.
                await handler._launch()
                self._handler = handler
            return self._handler

    async def close(self) -> None:
        if self._handler is not None:
            await self._handler.close()


class RenderingDownloadHandler(BaseDownloadHandler):
    lazy = False

    def __init__(self, crawler):
        super().__init__(crawler)
        self.config = BrowserConfig.from_settings(crawler.settings)
        self.stats = crawler.stats
        # Built with the engine, after the spider has set PORTAL_URL from its argument.
        self.portal_urls = PortalConfig.from_settings(crawler.settings).urls
        warc = WarcConfig.from_settings(crawler.settings).enabled
        http_handler = WireCapturingDownloadHandler if warc else HTTP11DownloadHandler
        self.http = build_from_crawler(http_handler, crawler)
        # One browser for the http and https instances, started by the first page to render.
        browser = getattr(crawler, "lazy_browser", None)
        self._owns_browser = browser is None
        if browser is None:
            if self.config.executable is None:
                logger.warning(
                    "no Chromium at BROWSER_EXECUTABLE (%s): using Playwright's own browser",
                    crawler.settings.get("BROWSER_EXECUTABLE"),
                )
            browser = crawler.lazy_browser = LazyBrowser(crawler)
        self.browser = browser

    async def download_request(self, request) -> Response:
        reason = request.meta.get(RENDER_META)
        if not reason:
            return await self.http.download_request(request)
        return await self._render(request, reason)

    async def close(self) -> None:
        await self.http.close()
        if self._owns_browser:
            await self.browser.close()

    async def _render(self, request, reason: str) -> Response:
        capture = PageCapture(self.config, self.portal_urls.in_scope)
        request.meta.update(
            {
                "playwright": True,
                "playwright_page_init_callback": capture.attach,
                "playwright_page_methods": [PageMethod(capture.settle)],
            }
        )
        try:
            handler = await self.browser.handler()
            response = await handler.download_request(request)
        finally:
            for key in _PLAYWRIGHT_META:
                request.meta.pop(key, None)
        self.stats.inc_value("browser/pages")
        self.stats.inc_value(f"browser/pages/{reason}")
        self.stats.inc_value("browser/responses", len(capture.exchanges))
        if capture.blocked:
            self.stats.inc_value("browser/blocked_offsite", capture.blocked)
        if capture.load_more_clicks:
            self.stats.inc_value("browser/load_more_clicks", capture.load_more_clicks)
        if capture.settle_timed_out:
            self.stats.inc_value("browser/settle_timeout")
            logger.warning("%s still busy after BROWSER_SETTLE_TIMEOUT", request.url)
        if capture.unreadable_bodies:
            self.stats.inc_value("browser/unreadable_bodies", capture.unreadable_bodies)
        self._archive(request, response, capture)
        return response

    def _archive(self, request, response: Response, capture: PageCapture) -> None:
        archive = self.crawler.get_downloader_middleware(WarcArchiveMiddleware)
        if archive is None:
            return
        document, page_exchange = None, capture.document()
        for exchange in capture.exchanges:
            response_id = new_record_id()
            written = archive.submit(
                partial(
                    build_browser_exchange_records,
                    exchange.data,
                    response_id=response_id,
                    body_decoded=exchange.body_decoded,
                )
            )
            self.stats.inc_value("archive/records", 2)
            self.stats.inc_value("archive/payload_bytes", len(exchange.data.body))
            if exchange.body_decoded:
                self.stats.inc_value("archive/browser_decoded")
            if exchange is page_exchange:
                document = PendingRecord(response_id, written)
        if document is None:
            # Left to the archive middleware, rebuilt from Scrapy's objects.
            self.stats.inc_value("browser/document_not_captured")
            logger.warning("the browser's response for %s was not captured", request.url)
            return
        content_type = f"text/html; charset={getattr(response, 'encoding', None) or 'utf-8'}"
        archive.submit(
            partial(
                build_rendered_page_records,
                response.url,
                utc_now(),
                concurrent_to=document.record_id,
                dom=response.body,
                dom_content_type=content_type,
                screenshot=capture.screenshot,
            )
        )
        self.stats.inc_value("archive/records", 2 if capture.screenshot is not None else 1)
        request.meta[WARC_META] = document
        response.flags.append(ARCHIVED_BY_BROWSER)
