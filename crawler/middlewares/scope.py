"""Keep every request on the portal, whatever redirects or links say."""

from __future__ import annotations

import logging

from scrapy.exceptions import IgnoreRequest

from crawler.config import PortalConfig
from crawler.urls import host_key, is_private_host

logger = logging.getLogger(__name__)


class ScopeMiddleware:
    """Downloader middleware: drop requests off the portal's host(s).

    The spider only follows in-scope links; this catches what reaches the
    downloader another way (redirects to other hosts or ports). Responses
    that came from a private, loopback or link-local address are dropped
    too, unless the portal itself lives on such an address.
    """

    def __init__(self, config: PortalConfig, stats):
        self.config = config
        self.stats = stats
        self.portal_is_private = all(
            is_private_host(h.rsplit(":", 1)[0]) for h in config.urls.hosts
        )

    @classmethod
    def from_crawler(cls, crawler):
        return cls(PortalConfig.from_settings(crawler.settings), crawler.stats)

    def process_request(self, request):
        if self.config.urls.in_scope(request.url):
            return None
        self.stats.inc_value("scope/blocked_request")
        logger.info("not fetching %s: outside the portal %s", request.url, self.config.url)
        raise IgnoreRequest(f"outside the portal: {request.url}")

    def process_response(self, request, response):
        address = response.ip_address
        if address is None or self.portal_is_private or not is_private_host(str(address)):
            return response
        self.stats.inc_value("scope/private_address")
        logger.warning(
            "dropping %s: %s resolved to private address %s",
            request.url,
            host_key(request.url),
            address,
        )
        raise IgnoreRequest(f"private address {address} for {request.url}")
