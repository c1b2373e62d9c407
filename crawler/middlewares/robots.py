"""Scrapy's robots.txt middleware, with every request that waits for robots.txt obeying it.

Scrapy 2.19's ``RobotsTxtMiddleware.robot_parser`` has each request that arrives while
robots.txt is being fetched await the same Deferred through ``maybe_deferred_to_future``.
Under the asyncio reactor that is ``Deferred.asFuture``, which consumes the result: the
first waiter gets the parser, every later one gets ``None``, and ``None`` means "no
robots.txt: everything allowed". So the requests a crawl starts with (the home page, the
sections, what an earlier run left to fetch) were fetched whatever robots.txt said. Here
each waiter gets a Deferred of its own, fired with the parser (the way Scrapy did it before
the method became a coroutine).

Scrapy also reads any answer as robots.txt (a 503 error page allows everything) and a
failure to fetch it as "no robots.txt". RFC 9309 (2.3.1) says otherwise, and so do we: a
4xx answer means there are no rules (everything allowed), but a server error, 429 or a
network failure (after the retries) means robots.txt is unreachable, and then nothing of that
site may be fetched. For the rest of the crawl every request to that site fails, counted
as ``pages/failed/robots_unreachable``: a failure that says nothing about the page, so the
incremental state keeps the page to fetch in the next run, which asks for robots.txt again.
"""

from __future__ import annotations

import logging

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

logger = logging.getLogger(__name__)

# The reason given to the spider's errback for a request not sent (crawler/spiders/answers.py).
ROBOTS_UNREACHABLE = "robots.txt unreachable"


class _Unreachable:
    """The parser of a site whose robots.txt could not be read: nothing is allowed."""

    def __init__(self, why: str):
        self.why = why

    def allowed(self, url, user_agent) -> bool:
        return False


class PoliteRobotsTxtMiddleware(RobotsTxtMiddleware):
    async def robot_parser(self, request):
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if not isinstance(pending, Deferred):
            return await super().robot_parser(request)
        waiter: Deferred = Deferred()

        def relay(parser):
            waiter.callback(parser)
            return parser  # for the next waiter

        pending.addCallback(relay)
        return await maybe_deferred_to_future(waiter)

    async def _parse_robots(self, response, netloc, request) -> None:
        status = response.status
        if status < 400:
            await super()._parse_robots(response, netloc, request)
            return
        self._stats.inc_value("robotstxt/response_count")
        self._stats.inc_value(f"robotstxt/response_status_count/{status}")
        if status == 429 or status >= 500:
            self._unreachable(netloc, f"HTTP {status}")
        else:
            self._settle(netloc, None)  # 4xx: no rules, everything allowed

    def _robots_error(self, exc, netloc) -> None:
        if isinstance(exc, IgnoreRequest):  # refused before it was sent (scope, sizes)
            super()._robots_error(exc, netloc)
            return
        self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
        self._unreachable(netloc, f"{type(exc).__name__}: {exc}")

    def _unreachable(self, netloc: str, why: str) -> None:
        self._stats.inc_value("robotstxt/unreachable")
        logger.error(
            "robots.txt of %s is unreachable (%s): nothing of %s is fetched in this crawl"
            " (RFC 9309); the next run asks again",
            netloc,
            why,
            netloc,
        )
        self._settle(netloc, _Unreachable(why))

    def _settle(self, netloc: str, parser) -> None:
        waiting = self._parsers[netloc]
        self._parsers[netloc] = parser
        if isinstance(waiting, Deferred):
            waiting.callback(parser)

    def process_request_2(self, rp, request) -> None:
        if isinstance(rp, _Unreachable):
            self._stats.inc_value("pages/failed/robots_unreachable")
            raise IgnoreRequest(f"{ROBOTS_UNREACHABLE} ({rp.why})")
        super().process_request_2(rp, request)
