"""Redirect loops: stop them with a message and a counter.

Without this, the second request of a loop (a → b → a) is dropped silently
by the duplicate filter, and nobody learns why the page never arrived.
"""

from __future__ import annotations

import logging
from urllib.parse import urljoin

from scrapy.exceptions import IgnoreRequest

logger = logging.getLogger(__name__)

_REDIRECT_STATUSES = frozenset((301, 302, 303, 307, 308))


class RedirectLoopMiddleware:
    """Downloader middleware placed just before Scrapy's RedirectMiddleware."""

    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_response(self, request, response):
        if response.status not in _REDIRECT_STATUSES or b"Location" not in response.headers:
            return response
        location = response.headers[b"Location"].decode("latin-1")
        target = urljoin(request.url, location)
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if target not in chain:
            return response
        self.stats.inc_value("pages/redirect_loop")
        logger.warning("redirect loop, not followed: %s -> %s", " -> ".join(chain), target)
        raise IgnoreRequest(f"redirect loop at {request.url}")
