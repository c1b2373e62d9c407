"""Retries that wait: Scrapy's RetryMiddleware, with the wait it lacks.

Scrapy decides whether to retry (``RETRY_TIMES``, ``RETRY_HTTP_CODES``, its
``retry/*`` stats and give-up log); this subclass decides when: after the answer's
``Retry-After`` (seconds or an HTTP date, honoured up to ``RETRY_AFTER_MAX``), else after
an exponential backoff with jitter (``RETRY_BACKOFF_BASE``, ``RETRY_BACKOFF_MAX``). The
retry then waits parked, out of the engine (``parking.RetryParking``).

An answer that asks for more than ``RETRY_AFTER_MAX`` is not retried in this crawl:
waiting less than asked would be hammering a site that said to come back later. It is
counted (``limits/retry_after_capped``), logged, and reaches the spider as the HTTP error
it is; the next run fetches the page again.
"""

from __future__ import annotations

import logging

from scrapy import signals
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.utils.response import response_status_message

from crawler.politeness.config import PolitenessConfig
from crawler.politeness.parking import RetryParking
from crawler.politeness.waits import backoff_wait, parse_retry_after

logger = logging.getLogger(__name__)


class PoliteRetryMiddleware(RetryMiddleware):
    """Downloader middleware in place of Scrapy's RetryMiddleware (priority 550)."""

    def __init__(self, settings, config: PolitenessConfig):
        super().__init__(settings)
        self.config = config
        self.parking: RetryParking | None = None

    @classmethod
    def from_crawler(cls, crawler):
        middleware = cls(crawler.settings, PolitenessConfig.from_settings(crawler.settings))
        middleware.crawler = crawler
        parking = RetryParking(
            middleware._reinject, crawler.stats, in_place_max=middleware.config.backoff_max_delay
        )
        middleware.parking = parking
        crawler.signals.connect(parking.request_scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(parking.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(parking.spider_closed, signal=signals.spider_closed)
        return middleware

    def process_request(self, request):
        # Only a retry that did not pass the scheduler is still marked here.
        return self.parking.wait_in_place(request)

    def process_response(self, request, response):
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retry_after = parse_retry_after(
            response.headers.get(b"Retry-After"), response.headers.get(b"Date")
        )
        if retry_after is not None and retry_after > self.config.retry_after_max:
            self.crawler.stats.inc_value("limits/retry_after_capped")
            logger.warning(
                "%s answered %d with Retry-After %s (%.0f s, more than RETRY_AFTER_MAX %.0f s): "
                "not retried in this crawl",
                request.url,
                response.status,
                response.headers.get(b"Retry-After", b"").decode("latin-1"),
                retry_after,
                self.config.retry_after_max,
            )
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        wait = self._backoff(retry)
        if retry_after is not None:
            self.crawler.stats.inc_value("retry/retry_after")
            wait = max(wait, retry_after)
        logger.info(
            "%s answered %d: retry %d in %.1f s%s",
            request.url,
            response.status,
            retry.meta["retry_times"],
            wait,
            " (Retry-After)" if retry_after is not None and wait == retry_after else "",
        )
        return RetryParking.hold(retry, wait)

    def process_exception(self, request, exception):
        retry = super().process_exception(request, exception)
        if retry is None:
            return None
        wait = self._backoff(retry)
        logger.info(
            "%s failed (%s): retry %d in %.1f s",
            request.url,
            type(exception).__name__,
            retry.meta["retry_times"],
            wait,
        )
        return RetryParking.hold(retry, wait)

    def _backoff(self, retry) -> float:
        return backoff_wait(
            retry.meta["retry_times"], self.config.retry_backoff_base, self.config.retry_backoff_max
        )

    def _reinject(self, request) -> None:
        engine = self.crawler.engine
        if engine is None or engine.spider is None:
            # The crawl closed between the timer firing and its cancellation.
            self.crawler.stats.inc_value("pages/dropped/retry_abandoned")
            logger.warning("crawl closed: retry of %s abandoned", request.url)
            return
        engine.crawl(request)
