"""A crawl's files in the local spool, and which of them the store already holds.

``<spool>/<crawl_id>/`` holds what the crawl wrote and has not yet handed over: closed WARC
files and their CDXJ indexes (until the crawl's WACZ is packed), the WACZ, the items feed
(``items.jsonl.gz``, ``.open`` while it is written), the pages list, the manifest when it
could not be written last. Each file maps to its archive key (crawler/layout.py). The
ledger, ``stored.jsonl``, gets one line per verified upload (key, size, sha256): a file
listed there with its size is stored, whatever happens to this process next, and the
manifest's file list is read from it. Files are deleted only once the crawl is complete
(manifest written), and only those the ledger lists.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict
from pathlib import Path

from crawler.atomic import fsync_dir, write_atomically
from crawler.layout import (
    CDXJ_SUFFIX,
    ITEMS_FILE,
    MANIFEST,
    OPEN_SUFFIX,
    PAGES_FILE,
    WARC_SUFFIX,
    WORKER_RECORD,
    index_key,
    items_key,
    wacz_key,
    wacz_name,
    warc_key,
    worker_part_key,
)
from crawler.storage.base import StoredObject

logger = logging.getLogger(__name__)

LEDGER = "stored.jsonl"


class CrawlSpool:
    """``<spool>/<crawl_id>/``: its files, their keys, and the ledger of what is stored."""

    def __init__(self, spool_dir: Path, crawl_id: str, worker: str | None = None):
        self.crawl_id = crawl_id
        self.path = Path(spool_dir) / crawl_id
        # A worker of a distributed crawl: its items and pages are parts of the crawl's.
        self.worker = worker

    @property
    def ledger_path(self) -> Path:
        return self.path / LEDGER

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    @property
    def wacz_path(self) -> Path:
        return self.path / wacz_name(self.crawl_id)

    @property
    def pages_path(self) -> Path:
        return self.path / PAGES_FILE

    @property
    def items_path(self) -> Path:
        return self.path / ITEMS_FILE

    def key_of(self, path: Path) -> str | None:
        """The archive key of a spool file, or None for a file that is not stored."""
        name = path.name
        if name.endswith(WARC_SUFFIX):
            return warc_key(self.crawl_id, name)
        if name.endswith(CDXJ_SUFFIX) and not name.startswith("."):
            return index_key(self.crawl_id, name)
        if name == self.wacz_path.name:
            return wacz_key(self.crawl_id)
        if self.worker is not None and name in (ITEMS_FILE, PAGES_FILE):
            return worker_part_key(self.crawl_id, self.worker, name)
        if name == ITEMS_FILE:
            return items_key(self.crawl_id)
        return None

    def warcs(self) -> list[Path]:
        """Closed WARC files, by name (the serial orders them)."""
        return sorted(self.path.glob(f"*{WARC_SUFFIX}"))

    def storable(self) -> list[tuple[Path, str]]:
        """Every file to store but the manifest (which goes last), with its key."""
        if not self.path.is_dir():
            return []
        found = []
        for path in sorted(self.path.iterdir()):
            key = self.key_of(path) if path.is_file() else None
            if key is not None:
                found.append((path, key))
        return found

    def stored(self) -> dict[str, StoredObject]:
        """The ledger: key → what was stored (the last line of a key wins)."""
        entries: dict[str, StoredObject] = {}
        if not self.ledger_path.exists():
            return entries
        with open(self.ledger_path, encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.endswith("\n"):
                    # A crash mid-write: that upload counts as not done.
                    logger.warning("%s:%d: incomplete line ignored", self.ledger_path, number)
                    continue
                data = json.loads(line)
                entries[data["key"]] = StoredObject(data["key"], data["size"], data["sha256"])
        return entries

    def pending(self) -> list[tuple[Path, str]]:
        """Storable files the ledger does not list with their current size."""
        stored = self.stored()
        return [
            (path, key)
            for path, key in self.storable()
            if key not in stored or stored[key].size != path.stat().st_size
        ]

    def record(self, stored: StoredObject) -> None:
        """Add a verified upload to the ledger, durably. Safe from any thread or
        process: each entry is one ``write`` to a file opened for appending."""
        self.path.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(asdict(stored), ensure_ascii=False) + "\n").encode("utf-8")
        fd = os.open(self.ledger_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def keep_record(self, record: dict) -> None:
        """A distributed crawl's worker whose record the store did not take keeps it here
        (never stored as a file: ``key_of`` knows no such name), so that whoever stores this
        spool later (a worker restarted beside it, the finisher, ``scrapy sync``) stores the
        record with the worker's stats."""
        self.path.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path / WORKER_RECORD, json.dumps(record).encode("utf-8"))

    def kept_record(self) -> dict:
        """The record ``keep_record`` left, or {}."""
        try:
            return json.loads((self.path / WORKER_RECORD).read_bytes())
        except (OSError, ValueError):
            return {}

    def remove(self) -> list[Path]:
        """Delete the crawl's spool directory once everything in it is stored:
        files the ledger lists with their size, the ledger, the manifest and the
        pages list. Returns the files that are kept because they are not stored."""
        if not self.path.is_dir():
            return []
        stored = self.stored()
        kept = []
        for path in sorted(self.path.iterdir()):
            key = self.key_of(path)
            if key is not None and (key not in stored or stored[key].size != path.stat().st_size):
                kept.append(path)
            elif key is not None:
                path.unlink()
        if kept:
            return kept
        for path in sorted(self.path.iterdir()):
            if path.name.endswith(OPEN_SUFFIX):
                # A WARC still being written (a crawl of the same id running): not ours.
                return [path]
        shutil.rmtree(self.path)
        fsync_dir(self.path.parent)
        return []
