"""Closed WARC files into the archive root: moved, indexed, packaged.

Moving is a rename and happens at once; indexing a WARC (up to WARC_MAX_SIZE
of it) and building the WACZ read whole files, so they run in threads and
the crawl never stalls on them. ``finish`` awaits what is still running.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.threads import deferToThread

from crawler.archive.cdxj import cdxj_name, index_warc
from crawler.archive.files import fsync_dir
from crawler.archive.pages import pages_path
from crawler.archive.wacz_package import build_wacz

logger = logging.getLogger(__name__)


@contextmanager
def _json_lines(path: Path) -> Iterator[Iterator[dict]]:
    """The JSON lines of ``path`` one by one (none when it does not exist)."""
    if not path.exists():
        yield iter(())
        return
    with open(path, encoding="utf-8") as lines:
        yield (json.loads(line) for line in lines if line.strip())


class ArchivePublisher:
    def __init__(self, root: Path, spool_dir: Path, portal_url: str, stats):
        self.root = root
        self.spool_dir = spool_dir
        self.portal_url = portal_url
        self.stats = stats
        self._pending: set[Deferred] = set()

    def publish(self, path: Path, crawl_id: str) -> None:
        """Move the closed WARC ``path`` into ``warcs/<crawl_id>/`` and index it."""
        target = self._move(path, self.root / "warcs" / crawl_id)
        index = self.root / "indexes" / crawl_id / cdxj_name(target)
        indexing = deferToThread(index_warc, target, index)
        self._pending.add(indexing)
        indexing.addCallbacks(self._indexed, self._index_failed, errbackArgs=(target,))
        indexing.addBoth(self._settled, indexing)

    async def finish(self, crawl_id: str) -> None:
        """Await the indexes still being built, then package the crawl's WACZ."""
        if self._pending:
            await maybe_deferred_to_future(DeferredList(list(self._pending)))
        await maybe_deferred_to_future(deferToThread(self._package, crawl_id))
        self.stats.inc_value("archive/wacz")

    def _move(self, path: Path, target_dir: Path) -> Path:
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / path.name
        if target.exists():
            raise FileExistsError(f"{target} already exists; {path} stays in the spool")
        try:
            os.replace(path, target)
        except OSError:
            # Another file system: copy, make it durable, then drop the spool copy.
            shutil.copyfile(path, target)
            with open(target, "rb") as copied:
                os.fsync(copied.fileno())
            path.unlink()
        fsync_dir(target_dir)
        self.stats.inc_value("archive/files")
        self.stats.inc_value("archive/bytes", target.stat().st_size)
        logger.info("WARC file %s stored in %s", path.name, target_dir)
        return target

    def _package(self, crawl_id: str) -> None:
        """The crawl's WACZ from its WARCs, indexes and pages list; then the
        spool is done with the crawl."""
        warcs = sorted((self.root / "warcs" / crawl_id).glob("*.warc.gz"))
        pages_file = pages_path(self.spool_dir, crawl_id)
        if warcs:
            indexes = sorted((self.root / "indexes" / crawl_id).glob("*.cdxj"))
            with _json_lines(pages_file) as pages:
                build_wacz(
                    self.root / "wacz" / f"{crawl_id}.wacz",
                    warcs,
                    indexes,
                    pages,
                    title=f"{self.portal_url} crawl {crawl_id}",
                )
        pages_file.unlink(missing_ok=True)
        crawl_dir = self.spool_dir / crawl_id
        if crawl_dir.is_dir() and not any(crawl_dir.iterdir()):
            crawl_dir.rmdir()

    def _indexed(self, _result) -> None:
        self.stats.inc_value("archive/indexes")

    def _index_failed(self, failure, target: Path) -> None:
        self.stats.inc_value("archive/index_failed")
        logger.error(
            "could not index %s: %s",
            target,
            failure.getErrorMessage(),
            exc_info=(failure.type, failure.value, failure.getTracebackObject()),
        )

    def _settled(self, result, deferred: Deferred):
        self._pending.discard(deferred)
        return result
