"""Scrapy's robots.txt middleware, with every request that waits for robots.txt obeying it.

Scrapy 2.19's ``RobotsTxtMiddleware.robot_parser`` has each request that arrives while
robots.txt is being fetched await the same Deferred through ``maybe_deferred_to_future``.
Under the asyncio reactor that is ``Deferred.asFuture``, which consumes the result: the
first waiter gets the parser, every later one gets ``None``, and ``None`` means "no
robots.txt: everything allowed". So the requests a crawl starts with (the home page, the
sections, what an earlier run left to fetch) were fetched whatever robots.txt said. Here
each waiter gets a Deferred of its own, fired with the parser (the way Scrapy did it before
the method became a coroutine).
"""

from __future__ import annotations

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred


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
