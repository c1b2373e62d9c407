"""How the workers of one distributed crawl agree, in Redis, with expiries.

Keys (``<ns>`` = ``archiver:<portal host>:<crawl_id>``; crawler/distributed/config.py):
- ``<ns>:requests`` the frontier, ``<ns>:dupefilter`` the fingerprints (scrapy-redis);
- ``<ns>:workers`` hash worker → who it is (host, pid, spool directory); ``<ns>:archive``
  the crawl's archive (its ARCHIVE_URI), set by the first worker to join;
- ``<ns>:lease:<worker>`` present while the worker lives: renewed every third of
  DISTRIBUTED_LEASE_TTL, gone that long after it died;
- ``<ns>:inflight:<worker>`` hash: the requests the worker took and is not done with;
- ``<ns>:seeder`` (with an expiry, while seeding) and ``<ns>:seeded``: one worker seeds;
- ``<ns>:done`` set: the workers whose files are stored; ``<ns>:finisher``: who finishes
  (the others wait until it has; if its lease expires first, one of them takes its place).

A worker is idle-finished when the frontier is empty, seeding is over and no other live
worker has a request in flight; the requests of a worker whose lease expired are put back
into the frontier first (``distributed/taken_over``). Redis away: the worker waits up to
DISTRIBUTED_REDIS_WAIT seconds and goes on if Redis comes back with the crawl's keys;
otherwise it stops (finish reason ``redis_lost``, exit status 6) with its files stored.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time

from scrapy import signals
from scrapy.exceptions import CloseSpider, DontCloseSpider, NotConfigured
from scrapy.utils.asyncio import create_looping_call

from crawler.config import WarcConfig
from crawler.distributed.config import DistributedConfig
from crawler.distributed.scheduler import REDIS_DOWN, DistributedScheduler
from crawler.publishing.items_file import sync_items_feeds
from crawler.publishing.spool_lock import spool_in_use
from crawler.storage_uri import archive_root_uri

logger = logging.getLogger(__name__)

# The finish reason of a worker that did not join its crawl (exit status 3).
REFUSED_REASON = "did_not_join"
# Engine heartbeat (Scrapy's is 5 s): how soon an idle worker sees what others queued.
HEARTBEAT = 0.5
# The finisher's place, renewed while it finishes: a backstop; a finisher that died is known
# by its lease, and replaced.
FINISHER_TTL_MS = 600_000
# KEYS[1] deleted if its value is ARGV[1] (a finisher gives its place back, never another's).
_RELEASE_IF_MINE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# KEYS[1]'s expiry set to ARGV[2] ms if its value is ARGV[1] (a finisher keeps its place).
_RENEW_IF_MINE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
# Worker ARGV[1] registered (KEYS[2] the workers hash, ARGV[2] who it is) with its lease
# (KEYS[3], ARGV[3] ms), unless
# - the crawl has a finisher (KEYS[1]) that lives (its lease: ARGV[4] .. its name) or has
#   finished it (the workers hash gone): {"finisher", its name}. A worker arriving as the
#   crawl is finished, or just after, would be left out of it (its files unlisted) or, the
#   crawl's keys gone, seed the finished crawl again. A dead finisher keeps no one out: a
#   worker of the next run replaces it;
# - the crawl is archived elsewhere (KEYS[4], set by its first worker, ARGV[5] this
#   worker's archive): {"archive", that archive}. The finisher merges only the records in
#   its own archive: a worker storing elsewhere would take articles from the crawl.
_JOIN = """
local finisher = redis.call('GET', KEYS[1])
if finisher and (redis.call('EXISTS', ARGV[4] .. finisher) == 1
                 or redis.call('EXISTS', KEYS[2]) == 0) then
  return {'finisher', finisher}
end
local archive = redis.call('GET', KEYS[4])
if archive and archive ~= ARGV[5] then return {'archive', archive} end
redis.call('SET', KEYS[4], ARGV[5])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('SET', KEYS[3], '1', 'PX', ARGV[3])
return false
"""
# KEYS[1] set to ARGV[2] (expiring in ARGV[3] ms) if it still names ARGV[1], a dead finisher:
# of the survivors that see it dead, one takes its place.
_TAKE_IF_HELD_BY = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return false
"""


class Coordinator:
    def __init__(self, crawler, config: DistributedConfig):
        from redis import Redis

        self.crawler = crawler
        self.config = config
        self.keys = config.keys
        self.me = config.worker_id
        self.server = Redis.from_url(config.redis_url, socket_timeout=10, socket_connect_timeout=5)
        self.ttl_ms = int(config.lease_ttl * 1000)
        self.seeding = False
        self.seeds_queued = False
        self._lapsed: set[str] = set()  # workers seen alive here without a lease
        self.stopping = False
        self.finishing = False
        self.replaced: str | None = None  # a finisher that died finishing, replaced by this one
        # Why this worker did not join the crawl: ("finisher" or "archive", whose).
        self.refused: tuple[str, str] | None = None
        self._loop = None
        self._scheduler: DistributedScheduler | None = None

    @classmethod
    def from_crawler(cls, crawler):
        config = DistributedConfig.from_settings(crawler.settings)
        if not config.enabled:
            raise NotConfigured("DISTRIBUTED_ENABLED is off")
        coordinator = cls(crawler, config)
        crawler.signals.connect(coordinator.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(coordinator.spider_idle, signal=signals.spider_idle)
        crawler.stats.set_value("distributed/worker", config.worker_id)
        return coordinator

    @property
    def scheduler(self) -> DistributedScheduler:
        # Kept from the open spider: the engine lets go of its slot when it stops.
        return self._scheduler

    # -- joining -----------------------------------------------------------

    def spider_opened(self, spider):
        # Private to Scrapy's engine, and the only way to hear of others' requests soon.
        self.crawler.engine._SLOT_HEARTBEAT_INTERVAL = HEARTBEAT
        self._scheduler = self.crawler.engine._slot.scheduler
        who = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "spool": str(WarcConfig.from_settings(self.crawler.settings).spool_dir),
        }
        archive = archive_root_uri(self.crawler.settings.get("ARCHIVE_URI"))
        refusal = self.join(who, archive)
        if refusal is not None:
            self._refuse(*refusal, archive)
            return
        logger.info("worker %s joined crawl %s", self.me, self.keys.namespace)
        self._loop = create_looping_call(self._tick)
        self._loop.start(min(1.0, self.config.lease_ttl / 3), now=False)

    def join(self, who: dict, archive: str) -> tuple[str, str] | None:
        """Register this worker, with its lease; or, if the crawl is being finished or was
        just finished, ("finisher", its name), or if it is archived elsewhere, ("archive",
        that archive's URI), with nothing registered."""
        keys = (self.keys.finisher, self.keys.workers, self.keys.lease(self.me), self.keys.archive)
        args = (self.me, json.dumps(who), self.ttl_ms, self.keys.lease(""), archive)
        refusal = self.server.eval(_JOIN, len(keys), *keys, *args)
        return (refusal[0].decode(), refusal[1].decode()) if refusal else None

    def _refuse(self, why: str, whom: str, archive: str) -> None:
        # Nothing to fetch, nothing to store: it seeds nothing, takes nothing from the
        # frontier, and closes at its first idle (exit status 3).
        self.refused = self._scheduler.refused = (why, whom)
        self.crawler.stats.set_value("distributed/refused", f"{why} {whom}")
        if why == "finisher":
            logger.error(
                "crawl %s is being finished, or was just finished, by worker %s: worker %s "
                "is too late to join it and fetches nothing (if that crawl is not finished, "
                "running it again with the same CRAWL_ID finishes it)",
                self.keys.namespace,
                whom,
                self.me,
            )
        else:
            logger.error(
                "crawl %s is archived into %s, not into %s (ARCHIVE_URI): worker %s does not "
                "join it and fetches nothing; the workers of one crawl share one archive, "
                "and each crawl has its own CRAWL_ID",
                self.keys.namespace,
                whom,
                archive,
                self.me,
            )

    def claim_seeding(self) -> bool:
        """Whether this worker seeds the crawl (one does; the others wait for its seeds)."""
        if self.refused or self.server.exists(self.keys.seeded):
            return False
        self.seeding = bool(self.server.set(self.keys.seeder, self.me, nx=True, px=self.ttl_ms))
        if self.seeding:
            logger.info("worker %s seeds the crawl", self.me)
        return self.seeding

    def seeded(self) -> None:
        # The last seeds are in the frontier first (or, Redis away, once it is back: _tick).
        self.scheduler.push_queued()
        self.seeds_queued = True
        self._say_seeded()

    def _say_seeded(self) -> None:
        if self.seeds_queued and self.seeding and not self.scheduler.waiting:
            try:
                self.server.set(self.keys.seeded, self.me)
            except REDIS_DOWN as error:
                self.scheduler.redis_lost(error)
                return
            self.seeding = False

    # -- alive -------------------------------------------------------------

    def _tick(self) -> None:
        slot = self.crawler.engine._slot if self.crawler.engine else None
        if slot is None:
            # The engine has stopped (the worker is storing or finishing): the lease is
            # kept, and the finisher's place while it finishes (however long a WACZ takes).
            try:
                self.server.set(self.keys.lease(self.me), "1", px=self.ttl_ms)
                if self.finishing:
                    self.server.eval(
                        _RENEW_IF_MINE, 1, self.keys.finisher, self.me, FINISHER_TTL_MS
                    )
            except REDIS_DOWN:
                pass
            return
        scheduler = slot.scheduler
        try:
            pipe = self.server.pipeline()
            pipe.set(self.keys.lease(self.me), "1", px=self.ttl_ms)
            if self.seeding:
                pipe.set(self.keys.seeder, self.me, px=self.ttl_ms)
            pipe.hexists(self.keys.workers, self.me)
            registered = pipe.execute()[-1]
        except REDIS_DOWN as error:
            scheduler.redis_lost(error)
            down = time.monotonic() - scheduler.redis_down_since
            if down > self.config.redis_wait:
                self._stop(
                    "redis_lost",
                    f"Redis has not answered for {down:.0f} s (DISTRIBUTED_REDIS_WAIT)",
                )
            return
        if not registered:
            # Redis came back without this crawl's keys (restarted without persistence).
            self._stop("redis_lost", "Redis came back without this crawl's frontier")
            return
        if scheduler.redis_down_since is not None:
            logger.warning("Redis answers again: going on")
            scheduler.redis_back()
        self._say_seeded()
        scheduler.forget_done()

    def _stop(self, reason: str, why: str) -> None:
        if self.stopping:
            return
        self.stopping = True
        logger.error(
            "%s: worker %s stops (%s); its files are stored, the crawl is finished by "
            "running it again with the same CRAWL_ID (docs/distributed.md)",
            why,
            self.me,
            reason,
        )
        self.crawler.stats.set_value("distributed/redis_lost", 1)
        self.scheduler.waiting.clear()
        import asyncio

        asyncio.ensure_future(self.crawler.engine.close_spider_async(reason=reason))

    # -- idle: is the crawl over? ------------------------------------------

    def spider_idle(self, spider):
        if self.refused:
            raise CloseSpider(REFUSED_REASON)
        if self.stopping:
            return
        scheduler = self.scheduler
        if scheduler.redis_down_since is not None or scheduler.waiting:
            raise DontCloseSpider
        try:
            self._forget_done_now()
            if not self._crawl_over():
                raise DontCloseSpider
        except REDIS_DOWN as error:
            scheduler.redis_lost(error)
            raise DontCloseSpider from None

    def _forget_done_now(self) -> None:
        # Idle, every request taken done and its items flushed to the spool: the in-flight
        # entries go now, not DONE_DELAY later, so that the other workers (waiting for this
        # one's in-flight hash to be empty) can end sooner.
        scheduler = self.scheduler
        if scheduler.all_done and scheduler.has_done() and sync_items_feeds(self.crawler):
            scheduler.forget_done(everything=True)

    def _crawl_over(self) -> bool:
        if self.server.zcard(self.keys.requests):
            return False
        if not self.server.exists(self.keys.seeded):
            if self.server.exists(self.keys.seeder):
                return False
            logger.error(
                "the worker seeding crawl %s died before it was seeded: stopping; run the "
                "crawl again with the same CRAWL_ID",
                self.keys.namespace,
            )
            self.crawler.stats.set_value("distributed/seeder_lost", 1)
            self.stopping = True  # no finishing: the crawl was never whole
            raise CloseSpider("seeder_lost")
        busy = False
        for worker, who in self.server.hgetall(self.keys.workers).items():
            worker = worker.decode()
            if worker == self.me:
                continue
            if not self.server.hlen(self.keys.inflight(worker)):
                continue
            if self.server.exists(self.keys.lease(worker)):
                busy = True
            elif self._alive_here(worker, json.loads(who)):
                busy = True
            elif self.take_over(worker):
                return False
        return not busy

    def _alive_here(self, worker: str, who: dict) -> bool:
        """A worker whose lease lapsed but whose process still holds its spool's lock on
        this host (starved of CPU, its event loop held up): alive, not to be taken over or
        finished without; its lease comes back with its next renewal."""
        if who.get("host") != socket.gethostname() or not spool_in_use(who.get("spool")):
            return False
        if worker not in self._lapsed:
            self._lapsed.add(worker)
            logger.warning("worker %s: lease lapsed but its process runs here: waiting", worker)
        return True

    def take_over(self, worker: str) -> int:
        """Put the requests a dead worker had taken back into the frontier."""
        source = self.keys.inflight(worker)
        mine = f"{source}:taken-by:{self.me}"
        try:
            self.server.rename(source, mine)  # one survivor takes them
        except Exception:  # noqa: BLE001  (no such key: another survivor did)
            return 0
        entries = self.server.hvals(mine)
        pipe = self.server.pipeline()
        for data in entries:
            request = self.scheduler.queue._decode_request(data)
            pipe.zadd(self.keys.requests, {data: -request.priority})
        pipe.delete(mine)
        pipe.execute()
        self.crawler.stats.inc_value("distributed/taken_over", len(entries))
        logger.warning(
            "worker %s died: %d requests it had taken are back in the frontier",
            worker,
            len(entries),
        )
        return len(entries)

    # -- finishing (crawler/distributed/finishing.py) -----------------------

    def stored(self) -> None:
        """This worker's files (and record) are stored."""
        self.scheduler.forget_done(everything=True)
        self.server.sadd(self.keys.done, self.me)

    def role(self) -> tuple[str, list[dict]]:
        """("finisher", dead workers) once every other worker is done or dead and this one
        won; ("member", []) once another worker has finished the crawl (its keys are gone);
        ("wait", []) while others still work or another finishes. A finisher that died
        finishing (its lease gone) is replaced: its place goes to one survivor, which
        counts it among the dead (``replaced``) and finishes the crawl again."""
        if not self.server.hexists(self.keys.workers, self.me):
            return "member", []  # finished by another worker already (its keys are gone)
        done = {worker.decode() for worker in self.server.smembers(self.keys.done)}
        workers = {
            worker.decode(): json.loads(who)
            for worker, who in self.server.hgetall(self.keys.workers).items()
        }
        dead = []
        for worker, who in workers.items():
            if worker in done or worker == self.me:
                continue
            if self._lives(worker, who):
                return "wait", []
            dead.append({"worker": worker, **who})
        finisher = self.server.get(self.keys.finisher)
        if finisher is None:
            if not self.server.set(self.keys.finisher, self.me, nx=True, px=FINISHER_TTL_MS):
                return "wait", []
            if self.server.hlen(self.keys.workers) != len(workers):
                # A worker joined after the workers were read above (none can now: joining
                # checks for a finisher): the crawl is not over without it.
                self.release_finisher()
                return "wait", []
            self.finishing = True
            return "finisher", dead
        finisher = finisher.decode()
        if finisher == self.me:
            self.finishing = True
            return "finisher", dead
        if self._lives(finisher, workers.get(finisher, {})):
            return "wait", []
        taken = self.server.eval(
            _TAKE_IF_HELD_BY, 1, self.keys.finisher, finisher, self.me, FINISHER_TTL_MS
        )
        if not taken:
            return "wait", []  # another survivor took its place
        logger.warning(
            "worker %s died finishing crawl %s: worker %s finishes it",
            finisher,
            self.keys.namespace,
            self.me,
        )
        self.finishing, self.replaced = True, finisher
        self.crawler.stats.set_value("distributed/finisher_replaced", finisher)
        return "finisher", [*dead, {"worker": finisher, **workers.get(finisher, {})}]

    def _lives(self, worker: str, who: dict) -> bool:
        return bool(self.server.exists(self.keys.lease(worker))) or self._alive_here(worker, who)

    def release_finisher(self) -> None:
        """This worker does not finish the crawl now (the store failed it, or a worker
        joined as it took the place): the finisher's place is free again."""
        self.finishing = False
        self.server.eval(_RELEASE_IF_MINE, 1, self.keys.finisher, self.me)

    def forget_crawl(self) -> None:
        """The crawl is finished: its keys go."""
        self.finishing = False
        keys = [
            key
            for key in self.server.scan_iter(match=f"{self.keys.namespace}:*", count=1000)
            if key.decode() != self.keys.finisher  # expires: a late worker still hears
        ]
        if keys:
            self.server.delete(*keys)
        # Kept a while: a worker starting now may have checked that the crawl id was free
        # before the manifest was stored; it must be refused, not seed the crawl again.
        self.server.pexpire(self.keys.finisher, FINISHER_TTL_MS)

    def close(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        try:
            self.server.delete(self.keys.lease(self.me))
        except REDIS_DOWN:
            pass
        self.server.close()
