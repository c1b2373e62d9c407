"""Redirects that lead nowhere: loops, and chains longer than Scrapy follows.

Without this, the second request of a loop (a → b → a) is dropped silently by the
duplicate filter, and a chain past ``REDIRECT_MAX_TIMES`` is discarded by Scrapy's
RedirectMiddleware at DEBUG level: nobody learns why the page never arrived.
"""

from __future__ import annotations

import logging
from urllib.parse import urljoin, urlsplit

from scrapy.exceptions import IgnoreRequest

logger = logging.getLogger(__name__)

_REDIRECT_STATUSES = frozenset((301, 302, 303, 307, 308))


class RedirectLoopMiddleware:
    """Downloader middleware placed just before Scrapy's RedirectMiddleware."""

    def __init__(self, stats, max_redirects: int, enabled: bool = True):
        self.stats = stats
        self.max_redirects = max_redirects
        # Scrapy's RedirectMiddleware off: 3xx answers reach the spider, nothing is cut.
        self.enabled = enabled

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        return cls(
            crawler.stats,
            settings.getint("REDIRECT_MAX_TIMES"),
            settings.getbool("REDIRECT_ENABLED"),
        )

    def process_response(self, request, response):
        if (
            not self.enabled
            or response.status not in _REDIRECT_STATUSES
            or b"Location" not in response.headers
            or request.meta.get("dont_redirect", False)
            or request.meta.get("handle_httpstatus_all", False)
            or response.status in request.meta.get("handle_httpstatus_list", ())
        ):
            return response
        location = response.headers[b"Location"].decode("latin-1")
        target = urljoin(request.url, location)
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if target in chain:
            self.stats.inc_value("pages/redirect_loop")
            logger.warning("redirect loop, not followed: %s -> %s", " -> ".join(chain), target)
            raise IgnoreRequest(f"redirect loop at {request.url}")
        if self._followed(request, target):
            return response
        self.stats.inc_value("pages/dropped/too_many_redirects")
        logger.warning(
            "more than %d redirects (REDIRECT_MAX_TIMES), not followed: %s -> %s",
            self.max_redirects,
            " -> ".join(chain),
            target,
        )
        raise IgnoreRequest(f"too many redirects at {request.url}")

    def _followed(self, request, target: str) -> bool:
        """Whether Scrapy's RedirectMiddleware will follow this redirect (its own test)."""
        if urlsplit(target).scheme not in ("http", "https"):
            return True  # not a redirect Scrapy follows: the answer goes on as it is
        ttl = request.meta.get("redirect_ttl", self.max_redirects)
        redirects = request.meta.get("redirect_times", 0) + 1
        return bool(ttl) and redirects <= self.max_redirects
