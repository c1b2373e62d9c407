"""The crawl's side of storing its files: ``CrawlStorage``'s blocking work, off the reactor
thread, in a few threads at once, so the crawl never waits on the store.

``publish`` a closed WARC (on the reactor thread, returns at once), ``await finish(crawl_id)``
when the crawl's files are all closed, and ``await complete(crawl_id, manifest)`` last of all.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from twisted.python.threadable import isInIOThread

from crawler.config import StoredConfig, WarcConfig
from crawler.publishing.storing import CrawlStorage
from crawler.storage import ArchiveStore
from crawler.storage_uri import archive_store

logger = logging.getLogger(__name__)


class ArchivePublisher:
    """The crawl's side: ``publish`` a closed WARC (on the reactor thread, returns
    at once), ``await finish(crawl_id)`` when the crawl's files are all closed, and
    ``await complete(crawl_id, manifest)`` last of all."""

    def __init__(
        self,
        store: ArchiveStore,
        spool_dir: Path,
        portal_url: str,
        stats,
        *,
        concurrency: int = 2,
        worker: str | None = None,
        pack_wacz: bool = False,
    ):
        self.stats = stats
        self.storage = CrawlStorage(
            store, spool_dir, portal_url, self._count, worker, pack_wacz=pack_wacz
        )
        self._executor = ThreadPoolExecutor(concurrency, thread_name_prefix="archive-store")
        # Touched on the reactor thread only.
        self._pending: dict[str, list[Future]] = defaultdict(list)

    @classmethod
    def from_crawler(cls, crawler) -> ArchivePublisher:
        """A publisher for the crawl's settings (CrawlRunExtension makes the crawl's one;
        other components find it there)."""
        settings = crawler.settings
        return cls(
            archive_store(settings),
            WarcConfig.from_settings(settings).spool_dir,
            settings.get("PORTAL_URL"),
            crawler.stats,
            concurrency=settings.getint("ARCHIVE_UPLOAD_CONCURRENCY"),
            # A worker of a distributed crawl (crawler/distributed/) stores parts.
            worker=settings.get("DISTRIBUTED_WORKER_ID") or None
            if settings.getbool("DISTRIBUTED_ENABLED")
            else None,
            pack_wacz=StoredConfig.from_settings(settings).wacz,
        )

    @property
    def store(self) -> ArchiveStore:
        return self.storage.store

    def publish(self, path: Path, crawl_id: str) -> None:
        """Index and store the closed WARC ``path`` of crawl ``crawl_id``, in a thread."""
        future = self._executor.submit(self.storage.index_and_store, Path(path), crawl_id)
        self._pending[crawl_id].append(future)

    async def finish(self, crawl_id: str) -> list[Path]:
        """Await the crawl's files being stored, pack its WACZ, store what is
        left; the files that could not be stored (they stay in the spool)."""
        await self._drain(crawl_id)
        await self.run(self.storage.package, crawl_id)
        return await self.run(self.storage.store_pending, crawl_id)

    async def complete(self, crawl_id: str, manifest: dict | None) -> list[Path]:
        """``finish``, then the manifest, last; the files left in the spool."""
        await self.finish(crawl_id)
        return await self.run(self.storage.complete, crawl_id, manifest)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        close = getattr(self.store, "close", None)
        if close is not None:
            close()

    async def _drain(self, crawl_id: str) -> None:
        while self._pending.get(crawl_id):
            futures = self._pending.pop(crawl_id)
            results = await asyncio.gather(
                *(asyncio.wrap_future(future) for future in futures), return_exceptions=True
            )
            for result in results:
                if isinstance(result, BaseException):
                    # Not a store error (those are handled): the file stays in the spool.
                    self.stats.inc_value("archive/upload/failed")
                    logger.error("could not store a WARC file: %s", result, exc_info=result)

    async def run(self, function, *args):
        """``function(*args)`` in one of the publisher's threads."""
        return await asyncio.wrap_future(self._executor.submit(function, *args))

    def _count(self, key: str, count: int = 1) -> None:
        if isInIOThread():
            self.stats.inc_value(key, count)
        else:
            _call_in_reactor(self.stats.inc_value, key, count)


def _call_in_reactor(function, *args) -> None:
    # Imported here: importing the reactor at module level would install the default one
    # before Scrapy installs the asyncio reactor.
    from twisted.internet import reactor

    reactor.callFromThread(function, *args)
