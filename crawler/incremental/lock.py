"""A lock with an expiry in the archive store: two crawls never update `state/` at once.

Scheduled runs overlap when one runs long; each may be in its own container, so the lock
lives where the state does. A run writes `state/lock.json` (who, until when) and reads it back;
a lock held by another run that has not expired stops this one before it fetches anything.
A crashed run's lock expires (INCREMENTAL_LOCK_TTL), or is taken over at once by a run on
the same host that finds its process gone; a running one renews it.

Object stores have no compare-and-swap here, so two runs starting in the same instant could
both write; the read-back makes the later writer win and the earlier one find out.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
from datetime import UTC, datetime, timedelta

from crawler.config import ConfigError
from crawler.storage import ArchiveStore, StorageNotFound

logger = logging.getLogger(__name__)

LOCK_KEY = "state/lock.json"


class StateLocked(ConfigError):
    """Another crawl holds the state lock."""


class StateLock:
    def __init__(self, store: ArchiveStore, crawl_id: str, ttl: timedelta):
        self.store = store
        self.ttl = ttl
        self.owner = {
            "crawl_id": crawl_id,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "token": secrets.token_hex(8),
        }
        self.held = False

    def acquire(self) -> None:
        current = self._read()
        now = datetime.now(UTC)
        if current is not None and current.get("token") != self.owner["token"]:
            expires = datetime.fromisoformat(current["expires_at"])
            if expires > now and not self._holder_gone(current):
                raise StateLocked(
                    f"crawl {current['crawl_id']} on {current['host']} is updating "
                    f"{self.store.uri}/state/ (lock until {current['expires_at']}); "
                    "not starting a second crawl over it"
                )
            logger.warning(
                "taking over the state lock of crawl %s (expires %s; its process is gone)",
                current["crawl_id"],
                current["expires_at"],
            )
        self._write(now)
        if (self._read() or {}).get("token") != self.owner["token"]:
            raise StateLocked(f"another crawl took the state lock of {self.store.uri} just now")
        self.held = True

    def renew(self) -> None:
        if self.held:
            self._write(datetime.now(UTC))

    def release(self) -> None:
        if self.held and (self._read() or {}).get("token") == self.owner["token"]:
            self.store.delete(LOCK_KEY)
        self.held = False

    def _holder_gone(self, lock: dict) -> bool:
        """A lock taken on this host by a process that no longer runs (killed)."""
        if lock.get("host") != self.owner["host"] or not isinstance(lock.get("pid"), int):
            return False
        try:
            os.kill(lock["pid"], 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # alive, someone else's
        return False

    def _read(self) -> dict | None:
        try:
            return json.loads(self.store.get_bytes(LOCK_KEY))
        except StorageNotFound:
            return None

    def _write(self, now: datetime) -> None:
        lock = {**self.owner, "since": now.isoformat(), "expires_at": (now + self.ttl).isoformat()}
        self.store.put_bytes(json.dumps(lock).encode("utf-8"), LOCK_KEY)
