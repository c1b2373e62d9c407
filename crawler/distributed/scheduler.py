"""scrapy-redis's scheduler and duplicate filter for one crawl across workers, with what a
worker has taken from the frontier recorded until it is done with it.

The frontier is a Redis sorted set (scrapy-redis's ``PriorityQueue``), the duplicate filter
a Redis set, both under the crawl's keys (crawler/distributed/config.py). A request is
popped and written to the worker's in-flight hash in one Lua script, so a worker killed at
any moment leaves each request it took either in the frontier or in its in-flight hash,
from where a survivor puts it back (crawler/distributed/coordinator.py). The in-flight entry
goes when the worker is done with the request: its response went through the spider and
the item pipelines, or the request went back to the frontier (a retry, a redirect), plus
``DONE_DELAY`` for the items feed to reach the disk (crawler/publishing/items_file.py).

Requests cross Redis as ``Request.to_dict`` (callbacks and errbacks are spider methods, by
name) pickled, without the meta values that do not pickle (a retry's WARC record handle):
the worker that fetches it again makes its own. While Redis cannot be reached, requests
are kept here and pushed when it is back; the coordinator decides how long to wait.
"""

from __future__ import annotations

import itertools
import logging
import pickle
import time

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from scrapy_redis import picklecompat
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from crawler.config import ConfigError
from crawler.distributed.config import DistributedConfig

logger = logging.getLogger(__name__)

REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
INFLIGHT_META = "distributed_inflight"
# Seconds an in-flight entry outlives the request: the items feed is flushed to the disk
# every second while items flow, so its item is there when the entry goes.
DONE_DELAY = 2.5

# Pop the best request and record it as this worker's, in one step.
_POP = """
local found = redis.call('ZRANGE', KEYS[1], 0, 0)
if #found == 0 then return false end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, 0)
redis.call('HSET', KEYS[2], ARGV[1], found[1])
return found[1]
"""


class RedisUnavailable(ConfigError):
    """Redis cannot be reached when the crawl starts: nothing is fetched."""


def _picklable(value) -> bool:
    try:
        pickle.dumps(value, protocol=-1)
    except Exception:
        return False
    return True


class RequestCodec:
    """``dumps``/``loads`` for scrapy-redis's queue: pickle, meta values that cannot be
    pickled left out."""

    @staticmethod
    def dumps(obj: dict) -> bytes:
        meta = obj.get("meta") or {}
        obj = {**obj, "meta": {k: v for k, v in meta.items() if _picklable(v)}}
        return picklecompat.dumps(obj)

    @staticmethod
    def loads(data: bytes) -> dict:
        return picklecompat.loads(data)


class CrawlDupeFilter(RFPDupeFilter):
    def log(self, request, spider=None):  # scrapy-redis's takes a spider; logged by Scrapy
        if self.debug:
            logger.debug("filtered duplicate request: %s", request)


class DistributedScheduler(Scheduler):
    def __init__(self, server, config: DistributedConfig, crawler):
        keys = config.keys
        super().__init__(
            server,
            persist=True,  # the finishing worker removes the crawl's keys
            queue_key=keys.requests,
            queue_cls="scrapy_redis.queue.PriorityQueue",
            dupefilter=CrawlDupeFilter(server, key=keys.dupefilter),
            serializer=RequestCodec,
        )
        self.config = config
        self.crawler = crawler
        self.stats = crawler.stats
        self.inflight_key = keys.inflight(config.worker_id)
        self.waiting: list = []  # requests not pushed yet: Redis was away
        self.redis_down_since: float | None = None
        self._pop = server.register_script(_POP)
        self._serial = itertools.count(1)
        self._done: list[tuple[float, str]] = []  # (when, in-flight field), not removed yet

    @classmethod
    def from_crawler(cls, crawler):
        config = DistributedConfig.from_settings(crawler.settings)
        from redis import Redis

        server = Redis.from_url(config.redis_url, socket_timeout=10, socket_connect_timeout=5)
        try:
            server.ping()
        except REDIS_DOWN as error:
            raise RedisUnavailable(
                f"REDIS_URL: Redis at {config.redis_url} does not answer ({error}); nothing fetched"
            ) from None
        return cls(server, config, crawler)

    def open(self, spider):
        self.spider = spider
        self.queue = PriorityQueue(
            server=self.server, spider=spider, key=self.queue_key, serializer=RequestCodec
        )
        self._hook_scraper()
        queued = len(self.queue)
        if queued:
            logger.info("joining crawl: %d requests in the shared frontier", queued)

    def close(self, reason):
        return None  # keys stay: other workers go on; the finishing worker removes them

    # -- the frontier ------------------------------------------------------

    def enqueue_request(self, request) -> bool:
        # A request coming back (a retry, a redirect) carries the in-flight field of the
        # one it replaces: that one is done once this one is in the frontier.
        field = request.meta.pop(INFLIGHT_META, None)
        if self.redis_down_since is not None:
            self.waiting.append((request, field))
            return True
        try:
            return self._push(request, field)
        except REDIS_DOWN as error:
            self.redis_lost(error)
            self.waiting.append((request, field))
            return True

    def _push(self, request, field: str | None) -> bool:
        try:
            if not request.dont_filter and self.df.request_seen(request):
                self.df.log(request)
                return False
            self.queue.push(request)
            self.stats.inc_value("scheduler/enqueued/redis")
            return True
        finally:
            if field is not None:
                self.done(field)

    def next_request(self):
        if self.redis_down_since is not None or self.waiting:
            return None
        field = f"{next(self._serial)}"
        try:
            data = self._pop(keys=[self.queue_key, self.inflight_key], args=[field])
        except REDIS_DOWN as error:
            self.redis_lost(error)
            return None
        if not data:
            return None
        request = self.queue._decode_request(data)
        request.meta[INFLIGHT_META] = field
        self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        if self.waiting or self.redis_down_since is not None:
            return True
        try:
            return len(self.queue) > 0
        except REDIS_DOWN as error:
            self.redis_lost(error)
            return True

    # -- Redis away and back -----------------------------------------------

    def redis_lost(self, error) -> None:
        if self.redis_down_since is None:
            self.redis_down_since = time.monotonic()
            logger.error("Redis at %s does not answer (%s): waiting", self.config.redis_url, error)

    def redis_back(self) -> None:
        """Redis answers again: push what waited."""
        self.redis_down_since = None
        waiting, self.waiting = self.waiting, []
        for index, (request, field) in enumerate(waiting):
            try:
                self._push(request, field)
            except REDIS_DOWN as error:
                self.waiting = waiting[index:]
                self.redis_lost(error)
                return

    # -- in flight -----------------------------------------------------------

    def done(self, field: str) -> None:
        self._done.append((time.monotonic(), field))

    def forget_done(self, everything: bool = False) -> None:
        """Remove the in-flight entries of requests done ``DONE_DELAY`` ago (all of them
        once the worker's items feed is closed)."""
        limit = time.monotonic() - (0 if everything else DONE_DELAY)
        ready = [field for when, field in self._done if when <= limit]
        if not ready or self.redis_down_since is not None:
            return
        try:
            self.server.hdel(self.inflight_key, *ready)
        except REDIS_DOWN as error:
            self.redis_lost(error)
            return
        self._done = self._done[len(ready) :]

    def _hook_scraper(self) -> None:
        # Scrapy has no signal for "the spider and the item pipelines are done with this
        # response or failure"; the scraper's enqueue_scrape Deferred fires exactly then.
        scraper = self.crawler.engine.scraper
        enqueue = scraper.enqueue_scrape

        def enqueue_scrape(result, request):
            processed = enqueue(result, request)
            field = request.meta.get(INFLIGHT_META)
            if field is not None:
                processed.addBoth(lambda outcome: (self.done(field), outcome)[1])
            return processed

        scraper.enqueue_scrape = enqueue_scrape
