"""scrapy-redis's scheduler and duplicate filter for one crawl across workers, with what a
worker has taken from the frontier recorded until it is done with it.

The frontier is a Redis sorted set (scrapy-redis's ``PriorityQueue``), the duplicate filter
a Redis set, both under the crawl's keys (crawler/distributed/config.py). A request is
popped and written to the worker's in-flight hash in one Lua script, so a worker killed at
any moment leaves each request it took either in the frontier or in its in-flight hash,
from where a survivor puts it back (crawler/distributed/coordinator.py). The in-flight entry
goes when the worker is done with the request: its response went through the spider and
the item pipelines, or the request went back to the frontier (a retry, a redirect), plus
``DONE_DELAY`` for the items feed to reach the disk (crawler/publishing/items_file.py), or
at once when the worker is idle and its items feed was flushed (``forget_done``).

Round trips kept few (each is on the crawl's thread): the requests queued in one turn of the
event loop are checked against the duplicate filter and queued in one pipeline; requests are
popped as many at a time as the downloader can start at once (never more than one by one
would take); an empty frontier is asked again only after ``EMPTY_WAIT`` unless this worker
queued something.

Requests cross Redis as ``Request.to_dict`` (callbacks and errbacks are spider methods, by
name) pickled, without the meta values that do not pickle (a retry's WARC record handle):
the worker that fetches it again makes its own. While Redis cannot be reached, requests
are kept here and pushed when it is back; the coordinator decides how long to wait.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import time
from collections import deque

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from scrapy import signals
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

# Requests popped in one call at most (fewer when the downloader has fewer free places).
POP_BATCH = 16
# Seconds before an empty frontier is asked again (the engine asks after every response);
# the engine's heartbeat (crawler/distributed/coordinator.py) asks anyway.
EMPTY_WAIT = 0.05

# Every script first checks that the crawl's keys are there (this worker in KEYS[1], the
# workers hash): a Redis restarted empty must not get requests, fingerprints or in-flight
# entries of a crawl it lost (they would be taken for a new crawl's by the next run).
_REGISTERED = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
"""

# Pop the best ARGV[3] requests and record them as this worker's (fields ARGV[2], +1, …),
# in one step. KEYS: workers, frontier, in-flight hash.
_POP = (
    _REGISTERED
    + """
local found = redis.call('ZRANGE', KEYS[2], 0, tonumber(ARGV[3]) - 1)
if #found == 0 then return found end
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, #found - 1)
local first = tonumber(ARGV[2])
for i = 1, #found do
  redis.call('HSET', KEYS[3], tostring(first + i - 1), found[i])
end
return found
"""
)


# Add the fingerprint and queue the request in one step: a reply lost with the connection
# (Redis gone mid-call) leaves both done or neither, so sending it again loses nothing.
# KEYS: workers, frontier, fingerprints; ARGV: worker, fingerprint, score, request.
_PUSH = (
    _REGISTERED
    + """
if ARGV[2] ~= '' and redis.call('SADD', KEYS[3], ARGV[2]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return 1
"""
)

# Requests popped and not started, back into the frontier (KEYS: workers, frontier,
# in-flight hash; ARGV: worker, then field and score and request of each).
_PUT_BACK = (
    _REGISTERED
    + """
for i = 2, #ARGV, 3 do
  redis.call('ZADD', KEYS[2], ARGV[i + 1], ARGV[i + 2])
  redis.call('HDEL', KEYS[3], ARGV[i])
end
return 1
"""
)


class FrontierLost(RedisConnectionError):
    """Redis answers without this crawl's keys (restarted empty): as if it did not answer;
    the coordinator stops the worker (crawler/distributed/coordinator.py)."""


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
        self.refused: tuple[str, str] | None = None  # did not join the crawl: takes nothing
        self._pop = server.register_script(_POP)
        self._push_script = server.register_script(_PUSH)
        self._put_back = server.register_script(_PUT_BACK)
        self.workers_key = keys.workers
        self._serial = 1  # the next in-flight field
        self._taken: set[str] = set()  # in-flight fields of requests this worker holds
        self._open: set[str] = set()  # … of those not done yet
        self._done: list[tuple[float, str]] = []  # (when, in-flight field), not removed yet
        self._popped: deque[tuple[str, bytes]] = deque()  # popped, not given to the engine
        self._empty_until = 0.0
        self._pushing: list = []  # (request, in-flight field it replaces), to push
        self._push_call: asyncio.Handle | None = None

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
        # Keys stay: other workers go on; the finishing worker removes them. What this
        # worker popped and never started goes back into the frontier.
        if self._push_call is not None:
            self._push_call.cancel()
        self.push_queued()
        popped, self._popped = list(self._popped), deque()
        if not popped or self.redis_down_since is not None:
            return  # (left in its in-flight hash: taken over once its lease expires)
        args = [self.config.worker_id]
        for field, data in popped:
            args += [field, -self.queue._decode_request(data).priority, data]
        try:
            keys = [self.workers_key, self.queue_key, self.inflight_key]
            if self._put_back(keys=keys, args=args) == -1:
                raise FrontierLost("the crawl's keys are gone")
        except REDIS_DOWN as error:
            logger.warning("%d requests left in flight (Redis: %s)", len(popped), error)
            return
        fields = {field for field, _ in popped}
        self._taken -= fields
        self._open -= fields

    # -- the frontier ------------------------------------------------------

    def enqueue_request(self, request) -> bool:
        # A request coming back (a retry, a redirect) carries the in-flight field of the
        # one it replaces: that one is done once this one is in the frontier.
        field = request.meta.pop(INFLIGHT_META, None)
        if self.redis_down_since is not None:
            self.waiting.append((request, field))
            return True
        # Pushed with the others queued in this turn of the event loop, in one round trip;
        # a duplicate is dropped then (the request_dropped signal sent then too).
        self._pushing.append((request, field))
        if self._push_call is None:
            self._push_call = asyncio.get_event_loop().call_soon(self.push_queued)
        return True

    def push_queued(self) -> None:
        self._push_call = None
        batch, self._pushing = self._pushing, []
        if not batch:
            return
        if self.redis_down_since is not None:
            self.waiting.extend(batch)
            return
        try:
            self._push(batch)
        except REDIS_DOWN as error:
            self.redis_lost(error)
            self.waiting.extend(batch)

    def _push(self, batch: list) -> None:
        """Check and queue ``batch`` ((request, in-flight field it replaces)) in one round
        trip; the duplicates are dropped."""
        pipe = self.server.pipeline(transaction=False)
        keys = [self.workers_key, self.queue_key, self.df.key]
        for request, _field in batch:
            fingerprint = "" if request.dont_filter else self.df.request_fingerprint(request)
            data = self.queue._encode_request(request)
            args = [self.config.worker_id, fingerprint, -request.priority, data]
            self._push_script(keys=keys, args=args, client=pipe)
        answers = pipe.execute()
        if -1 in answers:  # (nothing of the batch was queued: registration comes first)
            raise FrontierLost("Redis answers without this crawl's keys")
        for (request, field), pushed in zip(batch, answers, strict=True):
            if pushed:
                self._empty_until = 0.0  # the frontier has one at least
                self.stats.inc_value("scheduler/enqueued/redis")
            else:
                self.df.log(request)
                self.crawler.signals.send_catch_log(
                    signal=signals.request_dropped, request=request, spider=self.spider
                )
            if field is not None:
                self.done(field)

    def next_request(self):
        if self.refused or self.redis_down_since is not None or self.waiting:
            return None
        if not self._popped and not self._pop_some():
            return None
        field, data = self._popped.popleft()
        request = self.queue._decode_request(data)
        request.meta[INFLIGHT_META] = field
        self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def _pop_some(self) -> bool:
        if time.monotonic() < self._empty_until:
            return False
        downloader = self.crawler.engine.downloader
        free = downloader.total_concurrency - len(downloader.active)
        count = max(1, min(POP_BATCH, free))
        first = self._serial
        self._serial += count
        try:
            keys = [self.workers_key, self.queue_key, self.inflight_key]
            found = self._pop(keys=keys, args=[self.config.worker_id, first, count])
            if found == -1:
                raise FrontierLost("Redis answers without this crawl's keys")
        except REDIS_DOWN as error:
            self.redis_lost(error)
            return False
        if not found:
            self._empty_until = time.monotonic() + EMPTY_WAIT
            return False
        for index, data in enumerate(found):
            field = str(first + index)
            self._popped.append((field, data))
            self._taken.add(field)
            self._open.add(field)
        return True

    def has_pending_requests(self) -> bool:
        if self.refused:
            return False
        if self.waiting or self.redis_down_since is not None or self._popped or self._pushing:
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
        """Redis answers again: put back what this worker took without hearing of it (a
        pop whose answer was lost with the connection), then push what waited."""
        self.redis_down_since = None
        try:
            lost = [
                (field, data)
                for field, data in self.server.hgetall(self.inflight_key).items()
                if field.decode() not in self._taken
            ]
            for field, data in lost:
                request = self.queue._decode_request(data)
                self.server.zadd(self.queue_key, {data: -request.priority})
                self.server.hdel(self.inflight_key, field)
        except REDIS_DOWN as error:
            self.redis_lost(error)
            return
        waiting, self.waiting = self.waiting, []
        try:
            self._push(waiting)
        except REDIS_DOWN as error:
            self.waiting = waiting + self.waiting
            self.redis_lost(error)

    # -- in flight -----------------------------------------------------------

    def done(self, field: str) -> None:
        self._open.discard(field)
        self._done.append((time.monotonic(), field))

    def has_done(self) -> bool:
        return bool(self._done)

    @property
    def all_done(self) -> bool:
        """Whether every request this worker took is done (or back in the frontier)."""
        return not (self._open or self._popped or self._pushing or self.waiting)

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
        self._taken.difference_update(ready)

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
