"""Retries held until their time, out of the engine.

A retry that must wait is dropped at the ``request_scheduled`` signal (before the
scheduler) and put back with ``engine.crawl()`` when its time comes. Meanwhile it is in
no queue of Scrapy's: the downloader serves other requests, ``spider_idle`` is told the
crawl is not over, and a crawl that closes (SIGTERM, a limit) does not wait for it: what
is still parked then is abandoned, counted and logged.

Requests that reach the downloader without the scheduler (robots.txt, fetched by Scrapy
with ``engine.download_async``) cannot be parked: they wait in the downloader, for at most
``in_place_max`` seconds, so that a closing crawl never waits long for one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.utils.asyncio import call_later

logger = logging.getLogger(__name__)

# Monotonic time (seconds) before which a retry must not be sent.
NOT_BEFORE = "politeness_not_before"
# Abandoned retries named in the log at most (the count is always whole).
_LOGGED = 20


class RetryParking:
    """Holds requests carrying ``meta[NOT_BEFORE]`` until then, then ``reinject``s them."""

    def __init__(self, reinject: Callable, stats, in_place_max: float):
        self.reinject = reinject
        self.stats = stats
        self.in_place_max = in_place_max
        self._parked: dict[int, tuple] = {}  # id(request) -> (request, timer)

    @staticmethod
    def hold(request, seconds: float):
        """Mark ``request`` not to be sent before ``seconds`` from now."""
        request.meta[NOT_BEFORE] = time.monotonic() + seconds
        return request

    def __len__(self) -> int:
        return len(self._parked)

    # -- signal handlers -------------------------------------------------------------
    def request_scheduled(self, request, spider=None) -> None:
        not_before = request.meta.pop(NOT_BEFORE, None)
        if not_before is None:
            return
        wait = not_before - time.monotonic()
        if wait <= 0:
            return
        timer = call_later(wait, self._release, request)
        self._parked[id(request)] = (request, timer)
        logger.debug("holding %s for %.1f s", request.url, wait)
        raise IgnoreRequest(f"held for {wait:.1f} s before it is retried")

    def spider_idle(self, spider=None) -> None:
        if self._parked:
            raise DontCloseSpider

    def spider_closed(self, spider=None, reason: str = "") -> None:
        if not self._parked:
            return
        urls = []
        for request, timer in self._parked.values():
            timer.cancel()
            urls.append(request.url)
        self._parked.clear()
        self.stats.inc_value("pages/dropped/retry_abandoned", len(urls))
        logger.warning(
            "crawl closed (%s) with %d retries still waiting, not fetched: %s%s",
            reason,
            len(urls),
            ", ".join(urls[:_LOGGED]),
            f" and {len(urls) - _LOGGED} more" if len(urls) > _LOGGED else "",
        )

    # -- requests that bypass the scheduler ------------------------------------------
    def wait_in_place(self, request):
        """For a request that reached the downloader still marked (robots.txt): an
        awaitable that waits (at most ``in_place_max``), or None to go at once."""
        not_before = request.meta.pop(NOT_BEFORE, None)
        wait = 0.0 if not_before is None else min(not_before - time.monotonic(), self.in_place_max)
        if wait <= 0:
            return None
        logger.info("waiting %.1f s before retrying %s", wait, request.url)
        return _sleep(wait)

    def _release(self, request) -> None:
        if self._parked.pop(id(request), None) is not None:
            self.reinject(request)


async def _sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)
