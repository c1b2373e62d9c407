"""Politeness per portal, not per process: every request takes its turn from Redis.

With ``POLITENESS_REDIS_URL`` set, this downloader middleware (the closest to the downloader)
holds each request until the site's shared pace (``pace.SharedPace``) gives it a turn: a
lease among the site's ``CONCURRENT_REQUESTS_PER_DOMAIN`` and a send time one shared delay
after the previous request of any worker. The delay is the largest of ``DOWNLOAD_DELAY``,
AutoThrottle's delay (moved here by every worker's latencies, with Scrapy's own formula: the
local AutoThrottle extension is off) and the slowing down that any worker's
``backoff.SiteBackoffMiddleware`` asks for. The downloader slot's own delay is set to 0: the
turn is the pace, and a second, local delay would only bunch requests up.

Redis that does not answer: nothing is sent to the site; the worker says so in the log and
asks again every ``POLITENESS_REDIS_RETRY`` seconds. A crawl that is closing stops waiting:
requests still without a turn are not sent (``politeness/abandoned``; the next run
fetches them), those holding one go at their time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time

from redis import asyncio as redis_asyncio
from redis.exceptions import RedisError
from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured

from crawler.politeness.config import SharedPolitenessConfig
from crawler.politeness.pace import SharedPace, Turn

logger = logging.getLogger(__name__)

# Seconds between two log lines about the same Redis outage.
_OUTAGE_LOG_INTERVAL = 60.0
# Seconds to connect to Redis and to wait for an answer.
_REDIS_TIMEOUT = 5.0
# Seconds a lease given back waits to go with this worker's next ask for a turn at the same
# site (one round trip for both; a worker busy with the site asks within milliseconds);
# then it goes alone.
_RELEASE_WAIT = 0.01


class SharedPolitenessMiddleware:
    """Downloader middleware at the downloader's side of the chain (980)."""

    def __init__(self, config: SharedPolitenessConfig, pace: SharedPace, stats, crawler):
        self.config = config
        self.pace = pace
        self.stats = stats
        self.crawler = crawler
        self._held: dict[int, tuple[str, str]] = {}  # id(request) -> (site, lease)
        self._locks: dict[str, asyncio.Lock] = {}  # one request per site polls at a time
        self._released: dict[str, asyncio.Event] = {}  # set when a slot of the site is given back
        self._tasks: set[asyncio.Task] = set()
        self._releases: dict[str, list[str]] = {}  # site -> leases given back, not sent yet
        self._release_timer: asyncio.TimerHandle | None = None
        self._outage_since: float | None = None
        self._outage_logged = 0.0

    @classmethod
    def from_crawler(cls, crawler):
        if not SharedPolitenessConfig.wanted(crawler.settings):
            raise NotConfigured
        config = SharedPolitenessConfig.from_settings(crawler.settings)
        client = redis_asyncio.Redis.from_url(
            config.redis_url,
            socket_timeout=_REDIS_TIMEOUT,
            socket_connect_timeout=_REDIS_TIMEOUT,
        )
        worker = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        middleware = cls(config, SharedPace(client, config, worker), crawler.stats, crawler)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        logger.info(
            "politeness shared through Redis (%s): %d requests at once and %.1f s between "
            "requests per site, for all workers together",
            _shown(config.redis_url),
            config.concurrency,
            config.min_delay_ms / 1000,
        )
        return middleware

    # -- the turn ------------------------------------------------------------------------
    async def process_request(self, request):
        downloader = self.crawler.engine.downloader
        site = downloader.get_slot_key(request)
        lease = f"{self.pace.worker}-{secrets.token_hex(4)}"
        turn = await self._take_turn(site, lease, request)
        self._held[id(request)] = (site, lease)
        if turn.wait > 0:
            self.stats.inc_value("politeness/waited")
            await asyncio.sleep(turn.wait)
        slot = downloader.slots.get(site)
        if slot is not None:
            slot.delay = 0.0  # the shared turn is the pace (see the module's docstring)
        return None

    async def _take_turn(self, site: str, lease: str, request) -> Turn:
        # The first ask at once, beside the worker's other requests (a mirror's pace has free
        # slots); while all the site's slots are taken, one request per site asks again:
        # at once when it comes first in line (those before it may have freed slots), then
        # when this worker gives a slot of the site back, or after the poll interval (a
        # slot given back by another worker, or expired).
        turn = await self._ask(site, lease, request)
        if turn.wait is not None:
            return turn
        self.stats.inc_value("politeness/slot_waited")
        released = self._released.setdefault(site, asyncio.Event())
        async with self._locks.setdefault(site, asyncio.Lock()):
            while True:
                released.clear()
                turn = await self._ask(site, lease, request)
                if turn.wait is not None:
                    return turn
                pause = min(self.config.poll_interval, max(turn.retry_in, 0.001))
                try:
                    await asyncio.wait_for(released.wait(), pause)
                except TimeoutError:
                    pass

    async def _ask(self, site: str, lease: str, request) -> Turn:
        """One ask for a turn, however long Redis takes to answer it."""
        while True:
            if self._closing():
                self.stats.inc_value("politeness/abandoned")
                logger.info("crawl closing: %s not sent (no turn yet)", request.url)
                raise IgnoreRequest("crawl closing before this request's turn")
            releases = self._releases.pop(site, ())
            try:
                turn = await self.pace.take(site, lease, releases)
            except (RedisError, OSError) as exc:
                self._releases.setdefault(site, []).extend(releases)
                self._redis_failed(exc)
                await asyncio.sleep(self.config.redis_retry)
                continue
            self._redis_answers()
            return turn

    # -- answers -------------------------------------------------------------------------
    async def process_response(self, request, response):
        held = self._held.pop(id(request), None)
        if held is None:
            return response
        site, lease = held
        self._release(site, lease)
        latency = request.meta.get("download_latency")
        try:
            if (
                self.config.autothrottle
                and latency is not None
                and not request.meta.get("autothrottle_dont_adjust_delay", False)
            ):
                delay = await self.pace.throttle(site, latency, response.status)
                self.stats.max_value("politeness/max_throttle_delay", round(delay, 2))
        except (RedisError, OSError) as exc:
            # The lease expires by itself; the next turn waits for Redis.
            self._redis_failed(exc)
        return response

    async def process_exception(self, request, exception):
        held = self._held.pop(id(request), None)
        if held is not None:
            self._release(*held)
        return None

    def _release(self, site: str, lease: str) -> None:
        """Give ``lease`` back: with the next ask at ``site``, or alone a moment later."""
        self._releases.setdefault(site, []).append(lease)
        released = self._released.get(site)
        if released is not None:
            released.set()  # a request waiting for a slot asks now, taking this one back
        if self._release_timer is None:
            loop = asyncio.get_running_loop()
            self._release_timer = loop.call_later(_RELEASE_WAIT, self._send_releases)

    def _send_releases(self) -> None:
        self._release_timer = None
        releases, self._releases = self._releases, {}
        for site, leases in releases.items():
            task = asyncio.ensure_future(self._give_back(site, leases))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _give_back(self, site: str, leases: list[str]) -> None:
        try:
            await self.pace.give_back(site, *leases)
        except (RedisError, OSError) as exc:
            self._redis_failed(exc)  # the leases expire by themselves

    # -- the site slowed down (backoff.SiteBackoffMiddleware) ----------------------------
    def back_off(self, site: str, delay: float, slowed: bool) -> None:
        """This worker's slowing down of ``site`` is now ``delay`` (0: over), for all."""
        task = asyncio.ensure_future(self._back_off(site, delay, slowed))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _back_off(self, site: str, delay: float, slowed: bool) -> None:
        try:
            await self.pace.back_off(site, delay, slowed)
        except (RedisError, OSError) as exc:
            self._redis_failed(exc)

    # -- end -----------------------------------------------------------------------------
    async def spider_closed(self, spider=None, reason: str = "") -> None:
        if self._release_timer is not None:
            self._release_timer.cancel()
            self._send_releases()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        held, self._held = list(self._held.values()), {}
        try:
            for site, lease in held:
                await self.pace.give_back(site, lease)
        except (RedisError, OSError) as exc:
            logger.warning("%d slots not given back to Redis (they expire): %s", len(held), exc)
        await self.pace.client.aclose()

    def _closing(self) -> bool:
        engine = self.crawler.engine
        # Scrapy has no public flag for "closing": its engine slot's closing Deferred.
        slot = getattr(engine, "_slot", None)
        return not engine.running or (slot is not None and slot.closing is not None)

    def _redis_failed(self, exc: Exception) -> None:
        self.stats.inc_value("politeness/redis_errors")
        now = time.monotonic()
        if self._outage_since is None:
            self._outage_since = now
        if now - self._outage_logged >= _OUTAGE_LOG_INTERVAL:
            self._outage_logged = now
            logger.error(
                "Redis of the shared politeness (%s) does not answer (%s: %s), for %.0f s: "
                "nothing is sent to the portal until it does; asking again every %.0f s",
                _shown(self.config.redis_url),
                type(exc).__name__,
                exc,
                now - self._outage_since,
                self.config.redis_retry,
            )

    def _redis_answers(self) -> None:
        if self._outage_since is not None:
            logger.warning(
                "Redis of the shared politeness answers again, after %.0f s",
                time.monotonic() - self._outage_since,
            )
            self._outage_since = None
            self._outage_logged = 0.0


def _shown(url: str) -> str:
    """A Redis URL for the log: without its password."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rpartition("@")[2]
    return scheme + sep + rest


def find(crawler) -> SharedPolitenessMiddleware | None:
    """This crawl's shared politeness, when it has one."""
    return crawler.get_downloader_middleware(SharedPolitenessMiddleware)
