"""Write every HTTP exchange into WARC files, as it comes off the downloader.

Installed closest to the downloader (priority 950): it sees each response
before Scrapy decompresses it (590) or follows a redirect (600), and every
request the crawl makes — robots.txt, listings, articles, redirects, error
pages, retries — passes through it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
from contextlib import contextmanager
from pathlib import Path

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.archive.cdxj import cdxj_name, index_warc
from crawler.archive.exchange import exchange_data, is_captured
from crawler.archive.files import RotatingWarcWriter, fsync_dir, utc_now
from crawler.archive.pages import pages_path
from crawler.archive.records import CrawlInfo, build_exchange_records, build_metadata_record
from crawler.archive.recovery import recover_spool
from crawler.archive.wacz_package import build_wacz
from crawler.config import WarcConfig
from crawler.storage_uri import archive_root_uri, local_path

logger = logging.getLogger(__name__)

WARC_META = "warc"  # request.meta key: where the response record went


@contextmanager
def _lines(path: Path):
    """The JSON lines of ``path`` one by one (none when it does not exist)."""
    if not path.exists():
        yield iter(())
        return
    with open(path, encoding="utf-8") as lines:
        yield (json.loads(line) for line in lines if line.strip())


def _file_name_host() -> str:
    """This machine's name, reduced to what a WARC file name may hold."""
    return re.sub(r"[^A-Za-z0-9.]+", "-", socket.gethostname()).strip("-.") or "host"


class WarcArchiveMiddleware:
    def __init__(self, config: WarcConfig, crawl_id: str, portal_url: str, root: Path, stats):
        self.config = config
        self.crawl_id = crawl_id
        self.portal_url = portal_url
        self.root = root
        self.stats = stats
        info = CrawlInfo(
            crawl_id=crawl_id,
            portal_url=portal_url,
            robots_policy=config.robots_policy,
            operator=config.operator,
            hostname=_file_name_host(),
        )
        self.writer = RotatingWarcWriter(
            config.spool_dir / crawl_id,
            info,
            prefix=config.prefix,
            max_size=config.max_size,
            on_closed=self._publish,
        )

    @classmethod
    def from_crawler(cls, crawler):
        config = WarcConfig.from_settings(crawler.settings)
        if not config.enabled:
            raise NotConfigured("WARC_ENABLED is off")
        root = local_path(archive_root_uri(crawler.settings.get("ARCHIVE_URI")))
        middleware = cls(
            config,
            crawler.settings.get("CRAWL_ID"),
            crawler.settings.get("PORTAL_URL"),
            root,
            crawler.stats,
        )
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    # -- lifecycle ---------------------------------------------------------

    def spider_opened(self, spider):
        """Before the first fetch: finish what an earlier run left in the spool."""
        if not self.config.spool_dir.is_dir():
            return
        for crawl_dir in sorted(p for p in self.config.spool_dir.iterdir() if p.is_dir()):
            if crawl_dir.name == self.crawl_id:
                continue
            repaired = recover_spool(crawl_dir)
            if repaired:
                self.stats.inc_value("archive/files/repaired", len(repaired))
            leftovers = sorted(crawl_dir.glob("*.warc.gz"))
            for path in leftovers:
                logger.info("publishing %s left by crawl %s", path.name, crawl_dir.name)
                self._publish(path, crawl_id=crawl_dir.name)
                self.stats.inc_value("archive/files/recovered")
            self._package(crawl_dir.name)

    def spider_closed(self, spider):
        self.writer.close()
        self._package(self.crawl_id)

    # -- writing -----------------------------------------------------------

    def process_response(self, request, response):
        data = exchange_data(request, response)
        response_record, request_record = build_exchange_records(data)
        location = self.writer.write([response_record, request_record])[0]
        request.meta[WARC_META] = {
            "filename": location.filename,
            "offset": location.offset,
            "length": location.length,
            "record_id": location.record_id,
        }
        self.stats.inc_value("archive/records", 2)
        self.stats.inc_value("archive/payload_bytes", len(data.body))
        if not is_captured(request):
            self.stats.inc_value("archive/heads_rebuilt")
        return response

    def write_metadata(self, response, outlinks: list[str], fetched_by: str = "http") -> None:
        """The page's ``metadata`` record: its outlinks and where it was found."""
        pointer = response.meta.get(WARC_META)
        if pointer is None:
            return
        record = build_metadata_record(
            response.url,
            utc_now(),
            concurrent_to=pointer["record_id"],
            outlinks=outlinks,
            via=response.meta.get("via"),
            fetched_by=fetched_by,
        )
        self.writer.write([record])
        self.stats.inc_value("archive/records")

    # -- publishing --------------------------------------------------------

    def _publish(self, path: Path, crawl_id: str | None = None) -> None:
        """Move a closed WARC file from the spool into ``warcs/<crawl_id>/``."""
        target_dir = self.root / "warcs" / (crawl_id or self.crawl_id)
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
        index_dir = self.root / "indexes" / (crawl_id or self.crawl_id)
        index_warc(target, index_dir / cdxj_name(target))
        self.stats.inc_value("archive/indexes")

    def _package(self, crawl_id: str) -> None:
        """The crawl's WACZ (WARCs, indexes, pages), then the spool is done with it."""
        warcs = sorted((self.root / "warcs" / crawl_id).glob("*.warc.gz"))
        pages_file = pages_path(self.config.spool_dir, crawl_id)
        if warcs:
            indexes = sorted((self.root / "indexes" / crawl_id).glob("*.cdxj"))
            with _lines(pages_file) as pages:
                build_wacz(
                    self.root / "wacz" / f"{crawl_id}.wacz",
                    warcs,
                    indexes,
                    pages,
                    title=f"{self.portal_url} crawl {crawl_id}",
                )
            self.stats.inc_value("archive/wacz")
        pages_file.unlink(missing_ok=True)
        crawl_dir = self.config.spool_dir / crawl_id
        if crawl_dir.is_dir() and not any(crawl_dir.iterdir()):
            crawl_dir.rmdir()
