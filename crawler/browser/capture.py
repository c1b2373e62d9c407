"""What one page's rendering fetched, and bringing the page to rest.

A ``PageCapture`` listens to a Playwright page from before its navigation: it tracks the
requests in flight (to know when the page has settled) and reads every response — status,
headers as received, body, server address — while the page is still open. ``settle`` is the
last step of rendering: wait for quiet, scroll (lazy images), click "load more" buttons until
they are gone, take the screenshot if asked, and wait until every response has been read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, Route
from playwright.async_api import Request as PlaywrightRequest
from playwright.async_api import Response as PlaywrightResponse

from crawler.archive.files import utc_now
from crawler.archive.records import ExchangeData
from crawler.config import BrowserConfig

logger = logging.getLogger(__name__)

# Scroll down a screen at a time, so that lazy loaders see every image near the viewport.
_SCROLL_JS = """async () => {
  const step = Math.max(window.innerHeight, 200);
  for (let y = 0; y < document.documentElement.scrollHeight; y += step) {
    window.scrollTo(0, y);
    await new Promise(r => requestAnimationFrame(() => setTimeout(r, 20)));
  }
  window.scrollTo(0, document.documentElement.scrollHeight);
}"""
# Click the first visible, enabled button or link whose text is one of `texts`.
_CLICK_MORE_JS = """(texts) => {
  const wanted = new Set(texts.map(t => t.trim().toLowerCase()));
  for (const el of document.querySelectorAll('button, a, [role=button], input[type=button]')) {
    const text = (el.innerText || el.value || '').trim().toLowerCase();
    if (!wanted.has(text) || el.disabled) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    el.scrollIntoView();
    el.click();
    return true;
  }
  return false;
}"""
_POLL = 0.05


@dataclass(frozen=True)
class BrowserExchange:
    """One network exchange of a rendered page, ready for the archive."""

    data: ExchangeData
    body_decoded: bool  # the browser gave the body content-decoded
    is_document: bool  # the page's own (main frame, final) response


class PageCapture:
    def __init__(self, config: BrowserConfig, in_scope: Callable[[str], bool]):
        self.config = config
        self.in_scope = in_scope
        self.blocked = 0  # requests off the portal, refused
        self.exchanges: list[BrowserExchange] = []
        self.screenshot: bytes | None = None
        self.settle_timed_out = False
        self.load_more_clicks = 0
        self.unreadable_bodies = 0
        self._page: Page | None = None
        self._in_flight: set[PlaywrightRequest] = set()
        self._reads: list[asyncio.Task] = []
        self._last_change = 0.0
        self._gone = False  # the page closed or crashed (its browser killed): stop waiting

    # -- listening (scrapy-playwright's page init callback) ------------------------------

    async def attach(self, page: Page, request) -> None:
        self._page = page
        # Registered after scrapy-playwright's own route, so it is asked first: the browser
        # reaches the portal's hosts only, like the rest of the crawl.
        await page.route(lambda url: not self.in_scope(url), self._block)
        self._last_change = asyncio.get_running_loop().time()
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)
        page.on("response", self._responded)
        page.on("close", self._page_gone)
        page.on("crash", self._page_gone)

    def _page_gone(self, page: Page) -> None:
        self._gone = True

    async def _block(self, route: Route) -> None:
        self.blocked += 1
        logger.debug("browser request off the portal refused: %s", route.request.url)
        await route.abort("blockedbyclient")

    def _started(self, request: PlaywrightRequest) -> None:
        self._in_flight.add(request)
        self._last_change = asyncio.get_running_loop().time()

    def _ended(self, request: PlaywrightRequest) -> None:
        self._in_flight.discard(request)
        self._last_change = asyncio.get_running_loop().time()

    def _responded(self, response: PlaywrightResponse) -> None:
        if 300 <= response.status < 400:
            # A redirect ends its request here; the next hop is a request of its own.
            self._ended(response.request)
        self._reads.append(asyncio.ensure_future(self._read(response)))

    async def _read(self, response: PlaywrightResponse) -> None:
        url = response.url
        if urlsplit(url).scheme not in ("http", "https"):
            return
        fetched_at = utc_now()
        request = response.request
        body = b""
        if not 300 <= response.status < 400:
            try:
                body = await response.body()
            except PlaywrightError as exc:
                # The browser dropped it (e.g. the page navigated on): archived without body.
                self.unreadable_bodies += 1
                logger.info("browser body of %s unavailable: %s", url, exc.message)
        headers = [(h["name"], h["value"]) for h in await response.headers_array()]
        headers = [(name, value) for name, value in headers if not name.startswith(":")]
        request_headers = [
            (h["name"], h["value"])
            for h in await request.headers_array()
            if not h["name"].startswith(":")
        ]
        server = await response.server_addr()
        parts = urlsplit(url)
        if _header(request_headers, "host") is None:
            # Playwright reports the headers it knows of; HTTP/1.1 sent Host first.
            request_headers.insert(0, ("Host", parts.netloc))
        encoding = _header(headers, "content-encoding")
        self.exchanges.append(
            BrowserExchange(
                data=ExchangeData(
                    url=url,
                    method=request.method,
                    request_target=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                    request_headers=request_headers,
                    request_body=request.post_data_buffer or b"",
                    # Playwright does not say; the record needs an HTTP/1.x status line.
                    http_version="HTTP/1.1",
                    status=response.status,
                    reason=response.status_text,
                    response_headers=headers,
                    body=body,
                    was_chunked="chunked" in (_header(headers, "transfer-encoding") or ""),
                    ip_address=server["ipAddress"] if server else None,
                    fetched_at=fetched_at,
                ),
                body_decoded=bool(body) and encoding not in (None, "", "identity"),
                is_document=(
                    request.is_navigation_request()
                    and self._page is not None
                    and request.frame == self._page.main_frame
                    and not 300 <= response.status < 400
                ),
            )
        )

    # -- settling (the last page method) -------------------------------------------------

    async def settle(self, page: Page) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.settle_timeout
        await self._quiet(deadline)
        await page.evaluate(_SCROLL_JS)
        await self._quiet(deadline)
        texts = list(self.config.load_more_texts)
        while (
            texts
            and self.load_more_clicks < self.config.max_load_more
            and loop.time() < deadline
            and await page.evaluate(_CLICK_MORE_JS, texts)
        ):
            self.load_more_clicks += 1
            self._last_change = loop.time()
            await self._quiet(deadline)
        if self.config.screenshot:
            self.screenshot = await page.screenshot(full_page=True, type="png")
        # Every response read before the page closes (its bodies go with it).
        read = 0
        while read < len(self._reads):  # reading one may let another arrive
            batch, read = self._reads[read:], len(self._reads)
            for outcome in await asyncio.gather(*batch, return_exceptions=True):
                if isinstance(outcome, Exception):
                    self.unreadable_bodies += 1
                    logger.warning("a browser response could not be read: %s", outcome)

    async def _quiet(self, deadline: float) -> None:
        """Until no request has been in flight for `idle_time` seconds, or the deadline."""
        loop = asyncio.get_running_loop()
        while loop.time() < deadline:
            if self._gone:
                return  # what comes next fails at once, and the request with it
            if not self._in_flight and loop.time() - self._last_change >= self.config.idle_time:
                return
            await asyncio.sleep(_POLL)
        self.settle_timed_out = True

    def document(self) -> BrowserExchange | None:
        """The page's own response (the last main-frame navigation that was not a redirect)."""
        documents = [exchange for exchange in self.exchanges if exchange.is_document]
        return documents[-1] if documents else None


def _header(headers: list[tuple[str, str]], lower_name: str) -> str | None:
    for name, value in headers:
        if name.lower() == lower_name:
            return value.strip().lower()
    return None
