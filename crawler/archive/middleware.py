"""Write every HTTP exchange into WARC files, as it comes off the downloader.

Installed closest to the downloader (priority 950): it sees each response
before Scrapy decompresses it (590) or follows a redirect (600), and every
request the crawl makes — robots.txt, listings, articles, redirects, error
pages, retries — passes through it.
"""

from __future__ import annotations

import logging
import re
import socket
from pathlib import Path

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.archive.exchange import exchange_data
from crawler.archive.files import RotatingWarcWriter, utc_now
from crawler.archive.publish import ArchivePublisher
from crawler.archive.records import CrawlInfo, build_exchange_records, build_metadata_record
from crawler.archive.recovery import recover_spool
from crawler.archive.wire import WIRE_META
from crawler.config import WarcConfig
from crawler.signals import page_parsed
from crawler.storage_uri import archive_root_uri, local_path

logger = logging.getLogger(__name__)

WARC_META = "warc"  # request.meta key: where the response record went


def _file_name_host() -> str:
    """This machine's name, reduced to what a WARC file name may hold."""
    return re.sub(r"[^A-Za-z0-9.]+", "-", socket.gethostname()).strip("-.") or "host"


class WarcArchiveMiddleware:
    def __init__(self, config: WarcConfig, crawl_id: str, portal_url: str, root: Path, stats):
        self.config = config
        self.crawl_id = crawl_id
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
            on_closed=lambda path: self.publisher.publish(path, crawl_id),
        )
        self.publisher = ArchivePublisher(root, config.spool_dir, portal_url, stats)

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
        crawler.signals.connect(middleware.page_parsed, signal=page_parsed)
        return middleware

    # -- lifecycle ---------------------------------------------------------

    async def spider_opened(self, spider):
        """Before the first fetch: finish what an earlier run left in the spool."""
        if not self.config.spool_dir.is_dir():
            return
        for crawl_dir in sorted(p for p in self.config.spool_dir.iterdir() if p.is_dir()):
            repaired = recover_spool(crawl_dir)
            if repaired:
                self.stats.inc_value("archive/files/repaired", len(repaired))
            leftovers = sorted(crawl_dir.glob("*.warc.gz"))
            for path in leftovers:
                logger.info("publishing %s left by crawl %s", path.name, crawl_dir.name)
                self.publisher.publish(path, crawl_dir.name)
                self.stats.inc_value("archive/files/recovered")
            if crawl_dir.name != self.crawl_id:
                # A crawl id used again (a fixed CRAWL_ID) is packaged when this run ends.
                await self.publisher.finish(crawl_dir.name)

    async def spider_closed(self, spider):
        self.writer.close()
        await self.publisher.finish(self.crawl_id)

    # -- writing -----------------------------------------------------------

    def process_response(self, request, response):
        # Popped: a redirect copies meta into the next request, which has its own capture.
        capture = request.meta.pop(WIRE_META, None)
        data, exact = exchange_data(request, response, capture)
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
        if not exact:
            self.stats.inc_value("archive/heads_rebuilt")
        return response

    def page_parsed(self, response, outlinks: list[str], fetched_by: str = "http") -> None:
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
