"""A site's pace kept in Redis, changed only by atomic Lua scripts on Redis's own clock.

Keys of one site (all in one hash slot, ``<prefix>:{<site>}:…``):

- ``next``: the time (Redis milliseconds) before which no request may go to the site;
- ``leases``: a sorted set of the requests under way (member: lease id, score: expiry), at
  most the site's concurrency; an expired lease (a worker that died) counts no more;
- ``throttle``: AutoThrottle's delay for the site, moved by every worker's latencies;
- ``backoff``: each worker's slowing down after 429/503 (field: worker, value
  ``<delay ms>:<expiry ms>``); the longest that has not expired holds for all.

A turn (``take``) is one lease and the next free send time at once: the caller waits until
then and sends; the site's ``next`` moves one delay further. No clock but Redis's is used,
so workers on machines whose clocks disagree keep the same pace.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from crawler.politeness.config import SharedPolitenessConfig

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: leases, next, throttle, backoff. ARGV: lease id, concurrency, lease ttl ms,
# min delay ms, state ttl ms, throttle start ms (0: AutoThrottle off), the factor of this
# turn's delay (Scrapy's DOWNLOAD_DELAY_JITTER, drawn by the caller).
# ARGV[8…]: leases this worker gives back first (done since its last call).
# Returns {wait ms, delay ms}, or {-1, ms until a lease expires} when all are taken.
_TAKE = (
    _NOW
    + """
for i = 8, #ARGV do redis.call('ZREM', KEYS[1], ARGV[i]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {-1, tonumber(first[2]) - now}
end
local delay = tonumber(ARGV[4])
if tonumber(ARGV[6]) > 0 then
  local throttle = tonumber(redis.call('GET', KEYS[3]) or ARGV[6])
  if throttle > delay then delay = throttle end
end
local slowed = redis.call('HGETALL', KEYS[4])
for i = 1, #slowed, 2 do
  local d, e = string.match(slowed[i + 1], '^(%d+):(%d+)$')
  if d == nil or tonumber(e) <= now then
    redis.call('HDEL', KEYS[4], slowed[i])
  elseif tonumber(d) > delay then
    delay = tonumber(d)
  end
end
delay = math.floor(delay * tonumber(ARGV[7]))
local at = tonumber(redis.call('GET', KEYS[2]) or '0')
if at < now then at = now end
redis.call('SET', KEYS[2], string.format('%d', at + delay), 'PX', ARGV[5])
redis.call('ZADD', KEYS[1], at + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {at - now, delay}
"""
)

# KEYS: throttle. ARGV: latency ms, target concurrency, min ms, max ms, start ms,
# 1 when the answer was a 200, state ttl ms. Scrapy's AutoThrottle._adjust_delay, shared.
_THROTTLE = """
local current = tonumber(redis.call('GET', KEYS[1]) or ARGV[5])
local target = tonumber(ARGV[1]) / tonumber(ARGV[2])
local delay = (current + target) / 2
if target > delay then delay = target end
if delay < tonumber(ARGV[3]) then delay = tonumber(ARGV[3]) end
if delay > tonumber(ARGV[4]) then delay = tonumber(ARGV[4]) end
delay = math.floor(delay)
if ARGV[6] ~= '1' and delay <= current then return current end
redis.call('SET', KEYS[1], string.format('%d', delay), 'PX', ARGV[7])
return delay
"""

# KEYS: backoff, next. ARGV: worker, delay ms (0: this worker's slowing down is over),
# ms it holds without news, state ttl ms, 1 when the site just asked to slow down (then
# nothing goes to it for the delay from now).
_BACKOFF = (
    _NOW
    + """
local delay = tonumber(ARGV[2])
if delay <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d:%d', delay, now + tonumber(ARGV[3])))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if ARGV[5] == '1' then
  local at = tonumber(redis.call('GET', KEYS[2]) or '0')
  if at < now + delay then
    redis.call('SET', KEYS[2], string.format('%d', now + delay), 'PX', ARGV[4])
  end
end
return delay
"""
)


@dataclass(frozen=True)
class Turn:
    """``wait`` seconds before the request may go (``None``: no slot free, ask again in
    ``retry_in`` seconds); ``delay``: the site's current delay, seconds."""

    wait: float | None
    delay: float = 0.0
    retry_in: float = 0.0


class SharedPace:
    """The Redis side of shared politeness, for one worker (``worker`` names its leases)."""

    def __init__(self, client, config: SharedPolitenessConfig, worker: str):
        self.client = client
        self.config = config
        self.worker = worker
        self._take = client.register_script(_TAKE)
        self._throttle = client.register_script(_THROTTLE)
        self._backoff = client.register_script(_BACKOFF)
        self._state_ttl_ms = round(config.state_ttl * 1000)

    def keys(self, site: str) -> dict[str, str]:
        base = f"{self.config.key_prefix}:{{{site}}}"
        return {name: f"{base}:{name}" for name in ("leases", "next", "throttle", "backoff")}

    async def take(self, site: str, lease: str, releases: list[str] | tuple = ()) -> Turn:
        """A turn for ``lease``; ``releases``: leases given back first, in the same call."""
        keys = self.keys(site)
        cfg = self.config
        wait_ms, delay_ms = await self._take(
            keys=[keys["leases"], keys["next"], keys["throttle"], keys["backoff"]],
            args=[
                lease,
                cfg.concurrency,
                round(cfg.lease_ttl * 1000),
                cfg.min_delay_ms,
                self._state_ttl_ms,
                cfg.autothrottle_start_ms if cfg.autothrottle else 0,
                # As Scrapy's slots do: the delay varies by ±jitter around its value.
                1 + random.uniform(-cfg.jitter, cfg.jitter),  # noqa: S311
                *releases,
            ],
        )
        if wait_ms < 0:
            return Turn(None, retry_in=max(0, delay_ms) / 1000)
        return Turn(wait_ms / 1000, delay=delay_ms / 1000)

    async def give_back(self, site: str, *leases: str) -> None:
        await self.client.zrem(self.keys(site)["leases"], *leases)

    async def throttle(self, site: str, latency: float, status: int) -> float:
        """AutoThrottle's step on one answer; the site's throttle delay after it (seconds)."""
        cfg = self.config
        delay_ms = await self._throttle(
            keys=[self.keys(site)["throttle"]],
            args=[
                round(latency * 1000),
                cfg.autothrottle_target,
                cfg.min_delay_ms,
                cfg.autothrottle_max_ms,
                cfg.autothrottle_start_ms,
                1 if status == 200 else 0,
                self._state_ttl_ms,
            ],
        )
        return delay_ms / 1000

    async def back_off(self, site: str, delay: float, slowed: bool) -> None:
        """This worker's slowing down of ``site`` is now ``delay`` seconds (0: over)."""
        keys = self.keys(site)
        delay_ms = round(delay * 1000)
        # Held while this worker says nothing more: a worker that died stops slowing the
        # site some time after the longest wait it asked for.
        holds_ms = 10 * delay_ms + 60_000
        await self._backoff(
            keys=[keys["backoff"], keys["next"]],
            args=[self.worker, delay_ms, holds_ms, self._state_ttl_ms, 1 if slowed else 0],
        )
