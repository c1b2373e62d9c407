"""The distributed profile's settings, read once: Redis, the worker's name, the leases, and
the Redis keys of one crawl (all under ``archiver:<portal host>:<crawl_id>:``)."""

from __future__ import annotations

import os
import re
import secrets
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from crawler.config import ConfigError

REDIS_SCHEMES = ("redis", "rediss", "unix")


@dataclass(frozen=True)
class RedisKeys:
    """The keys of one crawl in Redis."""

    namespace: str

    def __getattr__(self, name: str) -> str:
        # requests, dupefilter, workers, done, seeder, seeded, finisher
        if name.startswith("_"):
            raise AttributeError(name)
        return f"{self.namespace}:{name}"

    def lease(self, worker: str) -> str:
        return f"{self.namespace}:lease:{worker}"

    def inflight(self, worker: str) -> str:
        return f"{self.namespace}:inflight:{worker}"


@dataclass(frozen=True)
class DistributedConfig:
    enabled: bool
    redis_url: str
    worker_id: str
    lease_ttl: float
    redis_wait: float
    keys: RedisKeys

    @classmethod
    def from_settings(cls, settings) -> DistributedConfig:
        enabled = settings.getbool("DISTRIBUTED_ENABLED")
        url = (settings.get("REDIS_URL") or "").strip()
        if enabled:
            check_redis_url(url)
        ttl = settings.getfloat("DISTRIBUTED_LEASE_TTL")
        if ttl < 2:
            raise ConfigError(f"DISTRIBUTED_LEASE_TTL: at least 2 seconds, got {ttl}")
        wait = settings.getfloat("DISTRIBUTED_REDIS_WAIT")
        if wait < 0:
            raise ConfigError(f"DISTRIBUTED_REDIS_WAIT: 0 or more seconds, got {wait}")
        host = urlsplit(settings.get("PORTAL_URL") or "").hostname or "portal"
        return cls(
            enabled=enabled,
            redis_url=url,
            worker_id=settings.get("DISTRIBUTED_WORKER_ID") or "",
            lease_ttl=ttl,
            redis_wait=wait,
            keys=RedisKeys(f"archiver:{host}:{settings.get('CRAWL_ID')}"),
        )


def check_redis_url(url: str) -> str:
    """``REDIS_URL``, refused when missing or not a Redis address."""
    if not url:
        raise ConfigError(
            "REDIS_URL: the distributed profile needs the address of the crawl's Redis, "
            "e.g. REDIS_URL=redis://redis:6379/0 in the environment"
        )
    parts = urlsplit(url)
    if parts.scheme not in REDIS_SCHEMES or not (parts.hostname or parts.path):
        raise ConfigError(
            f"REDIS_URL: redis://host:port/db, rediss://… or unix:///path, got {url!r}"
        )
    try:
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError as error:
        raise ConfigError(f"REDIS_URL: {error}: {url!r}") from None
    return url


def new_worker_id(name: str = "") -> str:
    """``<name or host>-<pid>-<random>``: unique across hosts, processes and restarts."""
    base = name or socket.gethostname() or "host"
    base = re.sub(r"[^A-Za-z0-9._]+", "-", base).strip("-.") or "host"
    return f"{base}-{os.getpid()}-{secrets.token_hex(3)}"
