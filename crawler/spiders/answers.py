"""What the portal spider makes of a page that is no usable page, and of a request that
failed: counted, logged, and told to the incremental state (a try against the page, or not,
or a robots.txt refusal). A mixin of ``PortalSpider`` (crawler/spiders/portal.py)."""

from __future__ import annotations

import logging

from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import TextResponse
from scrapy.spidermiddlewares.httperror import HttpError

from crawler.extract import ExtractionError
from crawler.extract.article import parse_html
from crawler.http_text import decode_html
from crawler.middlewares.robots import ROBOTS_UNREACHABLE

logger = logging.getLogger(__name__)

# What Scrapy's RobotsTxtMiddleware says when it refuses a request.
ROBOTS_FORBIDDEN = "Forbidden by robots.txt"


class PageAnswers:
    def _page_text(self, response, kind: str) -> str | None:
        """The page as text, or None (counted and logged) when it is no HTML page."""
        stats = self.crawler.stats
        if not response.body.strip():
            stats.inc_value(f"pages/empty/{kind}")
            logger.warning("empty %s page %s", kind, response.url)
            self._bad_answer(response, "empty page")
            return None
        if not isinstance(response, TextResponse) or not _is_html(response):
            stats.inc_value(f"pages/not_html/{kind}")
            content_type = response.headers.get("Content-Type", b"").decode("latin-1")
            logger.warning(
                "%s page %s is not HTML (%s)", kind, response.url, content_type or "no type"
            )
            self._bad_answer(response, f"not HTML ({content_type or 'no type'})")
            return None
        text, corrected = decode_html(response)
        if corrected:
            stats.inc_value("pages/charset_corrected")
            logger.info(
                "%s declares %s but is UTF-8; decoded as UTF-8", response.url, response.encoding
            )
        return text

    def _document(self, response, kind: str):
        text = self._page_text(response, kind)
        if text is None:
            return None
        try:
            doc = parse_html(text)
        except ExtractionError as exc:
            self.crawler.stats.inc_value(f"pages/unparseable/{kind}")
            logger.warning("cannot read %s page %s: %s", kind, response.url, exc)
            return None
        return doc

    def _bad_answer(self, response, what: str) -> None:
        """The page came back, but not as a page we can use: the incremental state counts a
        try against it (and fetches it again in a later run)."""
        if self.incremental is not None:
            self.incremental.answered_badly(first_url(response.request), what)

    def on_error(self, failure):
        request = failure.request
        first = first_url(request)
        if failure.check(HttpError):
            status = failure.value.response.status
            self.crawler.stats.inc_value(f"pages/http_error/{status}")
            logger.warning(
                "HTTP %d for %s (linked from %s)", status, request.url, request.meta.get("via")
            )
            if self.incremental is not None:
                self.incremental.answered_badly(first, f"HTTP {status}", status)
            return
        if failure.check(IgnoreRequest):
            # robots.txt, scope, redirect-loop and size refusals: counted where decided.
            message = failure.getErrorMessage()
            logger.debug("not fetched: %s (%s)", request.url, message)
            if self.incremental is not None:
                if ROBOTS_FORBIDDEN in message:
                    self.incremental.refused(first)
                elif ROBOTS_UNREACHABLE in message:
                    self.incremental.failed(first, message)  # not a try: asked again next run
                else:
                    self.incremental.answered_badly(first, f"not used: {message}")
            return
        if failure.check(DownloadCancelledError):
            # Past DOWNLOAD_MAXSIZE: counted and logged where cancelled (middlewares/sizes.py).
            logger.debug("not fetched: %s (%s)", request.url, failure.getErrorMessage())
            if self.incremental is not None:
                self.incremental.answered_badly(first, "too large")
            return
        reason = failure.type.__name__ if failure.type else "unknown"
        self.crawler.stats.inc_value(f"pages/failed/{reason}")
        logger.error("failed to fetch %s: %s", request.url, failure.getErrorMessage())
        if self.incremental is not None:
            self.incremental.failed(first, f"failed: {reason}")


def first_url(request) -> str:
    """The URL a request chain started from (before redirects): the one the spider asked."""
    return request.meta.get("redirect_urls", [request.url])[0]


def _is_html(response: TextResponse) -> bool:
    content_type = response.headers.get("Content-Type", b"").decode("latin-1").lower()
    if content_type:
        return "html" in content_type
    return response.body.lstrip()[:1] == b"<"
