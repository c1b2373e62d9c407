"""One running crawl (or sync) per spool, and which process that is.

``<spool>/.lock`` is held with flock(2) for as long as the process runs: the kernel
releases it when the process ends, however it ends (kill -9, a zombie not yet reaped), so
a spool lock that can be taken is one nobody holds. The file also says who holds it and
names the spool with a random id kept across runs: a crawl's state lock records the spool
its holder had locked (crawler/incremental/lock.py), and a later run that holds the same
spool knows that holder is gone.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from crawler.config import CrawlOverlap
from crawler.holders import Holder

logger = logging.getLogger(__name__)

LOCK_FILE = ".lock"


class SpoolLocked(CrawlOverlap):
    """Another crawl or sync runs on this spool."""


def _read(fd: int) -> dict:
    try:
        data = json.loads(os.pread(fd, 64 * 1024, 0) or b"{}")
    except ValueError:
        return {}  # an older, empty lock file, or one being rewritten
    return data if isinstance(data, dict) else {}


def lock_spool(spool_dir: Path) -> int:
    """Hold ``<spool>/.lock`` for this process (the descriptor: close it to let go):
    one crawl (or sync) per spool, so nobody repairs or deletes files another process
    is writing. ``SpoolLocked`` if another process holds it."""
    spool_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(spool_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = Holder.from_dict(_read(fd).get("holder") or {})
        os.close(fd)
        raise SpoolLocked(
            f"the spool {spool_dir} is in use by another crawl or sync"
            f"{f' ({holder})' if holder else ''}; give each running crawl its own "
            "WARC_SPOOL_DIR"
        ) from None
    try:
        spool_id = _read(fd).get("spool_id") or secrets.token_hex(8)
        record = {
            "spool_id": spool_id,
            "holder": Holder.current().to_dict(),
            "since": datetime.now(UTC).isoformat(),
        }
        data = json.dumps(record).encode("utf-8")
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
    except BaseException:
        os.close(fd)
        raise
    return fd


def spool_in_use(spool_dir: Path | str | None) -> bool:
    """Whether a running process holds ``<spool>/.lock`` (nothing taken, nothing made)."""
    if not spool_dir:
        return False
    try:
        fd = os.open(Path(spool_dir) / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # (a shared lock taken goes with the descriptor)
    return False


def held_spool_id(spool_dir: Path) -> str | None:
    """The id of the spool this process holds the lock of, or None if it holds none
    there (only the flock's holder writes the file, after taking it)."""
    try:
        fd = os.open(spool_dir / LOCK_FILE, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        record = _read(fd)
    finally:
        os.close(fd)
    if Holder.from_dict(record.get("holder") or {}) != Holder.current():
        return None
    return record.get("spool_id") or None
