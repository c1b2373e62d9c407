"""A lock with an expiry in the archive store: two crawls never update `state/` at once.

Scheduled runs overlap when one runs long; each may be in its own container, so the lock
lives where the state does. A run writes `state/lock.json` (who, until when) and reads it
back; a running crawl renews it every third of INCREMENTAL_LOCK_TTL. A lock held by
another run stops this one before it fetches anything (exit 5), unless its holder is gone:
- on this host, a holder whose process has ended (a zombie or a reused pid counts as
  ended: crawler/holders.py), or one that held the spool this run holds now (the kernel
  releases a dead process's spool lock: crawler/publishing/spool_lock.py), is taken over at
  once;
- from elsewhere (another pod), a lock that expires within INCREMENTAL_LOCK_TTL is watched
  until it expires (taken over) or is renewed (its holder runs: exit 5).

Object stores have no compare-and-swap here, so two runs starting in the same instant could
both write; the read-back makes the later writer win and the earlier one find out. A holder
whose renewals failed for longer than the TTL may find at its next renewal that another run
took over: renewing then raises `StateLockLost`, and the crawl stops without saving the
state.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crawler.config import ConfigError, CrawlOverlap
from crawler.holders import Holder
from crawler.layout import STATE_LOCK_KEY
from crawler.publishing.spool_lock import held_spool_id
from crawler.storage import (
    ArchiveStore,
    StorageError,
    StorageNotFound,
    StorageVerificationFailed,
)

logger = logging.getLogger(__name__)


class StateLocked(CrawlOverlap):
    """Another crawl holds the state lock."""


class StateLockLost(StorageError):
    """Another run took over this crawl's state lock (it expired while renewals failed)."""


def lock_ttl(settings) -> timedelta:
    """``INCREMENTAL_LOCK_TTL``, checked: renewed every third of it, it must leave a store
    request time to finish."""
    seconds = settings.getfloat("INCREMENTAL_LOCK_TTL")
    if seconds < 3:
        raise ConfigError(f"INCREMENTAL_LOCK_TTL: at least 3 seconds, got {seconds}")
    return timedelta(seconds=seconds)


class StateLock:
    def __init__(
        self,
        store: ArchiveStore,
        crawl_id: str,
        ttl: timedelta,
        spool_dir: Path | None = None,
        shared_token: str | None = None,
    ):
        self.store = store
        self.ttl = ttl
        self.owner = {
            "crawl_id": crawl_id,
            **Holder.current().to_dict(),
            # The spool this process holds (and so will while it holds this lock).
            "spool_id": held_spool_id(spool_dir) if spool_dir else None,
            # The workers of one distributed crawl share it: the lock is the crawl's.
            "token": shared_token or secrets.token_hex(8),
        }
        self.shared = shared_token is not None
        self.held = False
        self._lost: StateLockLost | None = None

    def acquire(self) -> None:
        current = self._read()
        if self._foreign(current) and not self._holder_gone(current):
            current = self._watch(current)
        if self._foreign(current):
            reason = self._holder_gone(current) or ("it expired" if self._expired(current) else "")
            if not reason:
                raise StateLocked(
                    f"crawl {current.get('crawl_id')} on {current.get('host')} is updating "
                    f"{self.store.uri}/state/ (lock until {current.get('expires_at')}); "
                    "not starting a second crawl over it"
                )
            logger.warning(
                "taking over the state lock of crawl %s (%s, expires %s): %s",
                current.get("crawl_id"),
                Holder.from_dict(current) or "unknown holder",
                current.get("expires_at"),
                reason,
            )
        self._write(datetime.now(UTC))
        if (self._read() or {}).get("token") != self.owner["token"]:
            raise StateLocked(f"another crawl took the state lock of {self.store.uri} just now")
        self.held = True

    def renew(self) -> None:
        """Extend the lock; ``StateLockLost`` if another run holds it now."""
        if not self.held:
            return
        if self._lost is None:
            current = self._read()
            if current is None or self._foreign(current):
                # Gone too: another run took it over and has finished since.
                who = f"crawl {current.get('crawl_id')} on {current.get('host')}" if current else ""
                self._lost = StateLockLost(
                    f"another run ({who or 'since finished'}) took over the state lock of "
                    f"{self.store.uri}: this crawl's renewals failed until it expired"
                )
        if self._lost is not None:
            raise self._lost
        self._write(datetime.now(UTC))

    def release(self) -> None:
        if not self.held:
            return
        try:
            if (self._read() or {}).get("token") == self.owner["token"]:
                self.store.delete(STATE_LOCK_KEY)
        except StorageError as error:
            logger.warning(
                "state lock of %s not released (%s): it expires within %d s, or the next "
                "run on this host or spool takes it over at once",
                self.store.uri,
                error,
                self.ttl.total_seconds(),
            )
        self.held = False

    # -- is the holder gone? -----------------------------------------------

    def _holder_gone(self, lock: dict) -> str | None:
        """Why the run that wrote ``lock`` has certainly ended, or None."""
        if lock.get("spool_id") and lock.get("spool_id") == self.owner["spool_id"]:
            return "it held the spool this run holds now"
        holder = Holder.from_dict(lock)
        if holder is not None and holder.is_gone():
            return f"its process ({holder}) has ended"
        return None

    def _foreign(self, lock: dict | None) -> bool:
        return lock is not None and lock.get("token") != self.owner["token"]

    def _expired(self, lock: dict) -> bool:
        expires = _expiry(lock)
        return expires is None or expires <= datetime.now(UTC)

    def _watch(self, lock: dict) -> dict | None:
        """A lock whose holder cannot be judged from here (another host) and that
        expires within our TTL: watched until it expires or changes (a running holder
        renews it before it expires). The lock as last read."""
        holder = Holder.from_dict(lock)
        expires = _expiry(lock)
        if (
            (holder is not None and holder.is_gone() is False)  # alive, on this host
            or expires is None
            or expires <= datetime.now(UTC)
            or expires - datetime.now(UTC) > self.ttl
        ):
            return lock
        logger.warning(
            "crawl %s on %s holds the state lock of %s until %s; watching it: a running "
            "crawl renews it before then, a dead one's expires",
            lock.get("crawl_id"),
            lock.get("host"),
            self.store.uri,
            lock.get("expires_at"),
        )
        poll = max(0.5, min(5.0, self.ttl.total_seconds() / 10))
        while (left := (expires - datetime.now(UTC)).total_seconds()) > 0:
            time.sleep(min(poll, left))
            current = self._read()
            if current != lock:
                return current  # renewed, taken over or released
        return lock

    # -- the object --------------------------------------------------------

    def _read(self) -> dict | None:
        try:
            return json.loads(self.store.get_bytes(STATE_LOCK_KEY))
        except StorageNotFound:
            return None

    def _write(self, now: datetime) -> None:
        lock = {**self.owner, "since": now.isoformat(), "expires_at": (now + self.ttl).isoformat()}
        try:
            self.store.put_bytes(json.dumps(lock).encode("utf-8"), STATE_LOCK_KEY)
        except StorageVerificationFailed:
            # Another worker of the same crawl wrote it in the same instant: still ours.
            if not self.shared or (self._read() or {}).get("token") != self.owner["token"]:
                raise


def _expiry(lock: dict) -> datetime | None:
    try:
        return datetime.fromisoformat(lock["expires_at"])
    except (KeyError, TypeError, ValueError):
        return None
