"""A site that answers 429/503 is crawled more slowly, until it answers normally again.

Such an answer is about the whole site, not the one URL: the delay of the site's
downloader slot (Scrapy's own spacing of requests, the one AutoThrottle tunes) doubles
from ``BACKOFF_START_DELAY`` up to ``BACKOFF_MAX_DELAY``, at once to the answer's
``Retry-After`` when it gives one, and halves on each normal answer until it is back to
``DOWNLOAD_DELAY``. Only answers to requests sent after the last change count, so that a
burst of requests already in flight moves the delay one step, not fifty.

While a site is slowed, the downloader takes one request at a time, and the requests
already queued for the site's slot go back to the scheduler: nothing queues behind a long
delay, so a crawl that closes waits for one request at most, not for
``CONCURRENT_REQUESTS`` of them one delay apart.

With the politeness shared through Redis (``shared.py``), the delay is not the slot's: it is
handed to the shared pace, where the longest delay any worker asks for holds for all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from scrapy.core.downloader import Downloader, Slot
from scrapy.exceptions import NotConfigured

from crawler.politeness.config import PolitenessConfig
from crawler.politeness.shared import SharedPolitenessMiddleware, find
from crawler.politeness.waits import parse_retry_after

logger = logging.getLogger(__name__)


class SiteSlowedDown(Exception):
    """A request taken back from a slowed site's downloader queue: it waits in the scheduler."""


@dataclass
class _Slowed:
    delay: float  # seconds between requests this middleware asks for
    changed_at: float  # monotonic time of the last change


class SiteBackoffMiddleware:
    """Downloader middleware, just outside the retry middleware (it sees answers first)."""

    def __init__(
        self,
        config: PolitenessConfig,
        stats,
        downloader: Callable[[], Downloader],
        shared: Callable[[], SharedPolitenessMiddleware | None] = lambda: None,
    ):
        if not config.backoff_enabled:
            raise NotConfigured
        self.config = config
        self.stats = stats
        # The downloader is made after its middlewares: found when the first answer comes.
        self.downloader = downloader
        self.shared = shared
        self._slowed: dict[str, _Slowed] = {}  # by downloader slot key
        self._total_concurrency: int | None = None  # the downloader's own, while slowed

    @classmethod
    def from_crawler(cls, crawler):
        config = PolitenessConfig.from_settings(crawler.settings)
        return cls(config, crawler.stats, lambda: crawler.engine.downloader, lambda: find(crawler))

    def process_response(self, request, response):
        key = request.meta.get("download_slot")
        if key is None:
            return response
        now = time.monotonic()
        # Latency is unknown for a few handlers: such an answer counts as recent.
        sent_at = now - request.meta.get("download_latency", 0.0)
        slowed = self._slowed.get(key)
        recent = slowed is None or sent_at >= slowed.changed_at
        if response.status in self.config.backoff_statuses:
            self._slow_down(key, slowed, recent, response, now)
        elif slowed is not None and recent and response.status < 500:
            self._relax(key, slowed, now)
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, SiteSlowedDown):
            # Back to the scheduler (past its duplicate filter: it was seen already).
            return request.replace(dont_filter=True)
        return None

    def _slow_down(self, key: str, slowed: _Slowed | None, recent: bool, response, now) -> None:
        previous = slowed.delay if slowed else 0.0
        delay = previous
        if recent:
            retry_after = parse_retry_after(
                response.headers.get(b"Retry-After"), response.headers.get(b"Date")
            )
            delay = min(
                self.config.backoff_max_delay,
                max(self.config.backoff_start_delay, previous * 2, retry_after or 0.0),
            )
        shared = self.shared()
        slot = self._slot(key)
        if slot is not None and shared is None:
            slot.delay = max(slot.delay, delay)
        if delay <= previous:
            return
        self._slowed[key] = _Slowed(delay, now)
        if shared is not None:
            shared.back_off(key, delay, slowed=True)
        self.stats.inc_value("backoff/slowed")
        self.stats.max_value("backoff/max_delay", round(delay, 1))
        self._one_at_a_time()
        if slot is not None:
            self._requeue_backlog(slot)
        logger.warning(
            "%s answered %d: %.1f s between its requests from now on (was %.1f s)",
            key,
            response.status,
            delay,
            previous,
        )

    def _relax(self, key: str, slowed: _Slowed, now: float) -> None:
        delay = slowed.delay / 2
        if delay < self.config.backoff_start_delay:
            delay = 0.0
        shared = self.shared()
        slot = self._slot(key)
        if shared is not None:
            shared.back_off(key, delay, slowed=False)
        elif slot is not None:
            # Never below the configured delay; AutoThrottle, when on, tunes it from there.
            slot.delay = max(self.config.download_delay, min(slot.delay, delay))
        if delay:
            self._slowed[key] = _Slowed(delay, now)
            return
        del self._slowed[key]
        self.stats.inc_value("backoff/recovered")
        logger.info("%s answers normally again: back to its usual pace", key)
        if not self._slowed:
            self._restore_concurrency()

    def _slot(self, key: str) -> Slot | None:
        return self.downloader().slots.get(key)

    def _one_at_a_time(self) -> None:
        downloader = self.downloader()
        if self._total_concurrency is None:
            self._total_concurrency = downloader.total_concurrency
            downloader.total_concurrency = 1

    def _requeue_backlog(self, slot: Slot) -> None:
        """All but the next request queued for ``slot`` go back to the scheduler."""
        moved = 0
        while len(slot.queue) > 1:
            _request, deferred = slot.queue.pop()
            deferred.errback(SiteSlowedDown())
            moved += 1
        if moved:
            self.stats.inc_value("backoff/requeued", moved)

    def _restore_concurrency(self) -> None:
        if self._total_concurrency is not None:
            self.downloader().total_concurrency = self._total_concurrency
            self._total_concurrency = None
