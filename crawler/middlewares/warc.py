"""Write every HTTP exchange into WARC files, as it comes off the downloader.

Installed closest to the downloader (priority 950): it sees each response
before Scrapy decompresses it (590) or follows a redirect (600), and every
request the crawl makes — robots.txt, listings, articles, redirects, error
pages, retries — passes through it. The records are built and written by the
WARC writer process (crawler/archive/writer.py); each closed file goes to the
crawl's publisher (CrawlRunExtension's), which stores it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import Callable, Sequence
from functools import partial

from scrapy import signals
from scrapy.exceptions import NotConfigured
from warcio.recordloader import ArcWarcRecord

from crawler.archive.exchange import exchange_data
from crawler.archive.files import RecordLocation, utc_now
from crawler.archive.records import (
    CrawlInfo,
    ExchangeData,
    FetchedBy,
    build_exchange_records,
    build_metadata_record,
    new_record_id,
    one_record,
)
from crawler.archive.recovery import recover_spool
from crawler.archive.wire import WIRE_META
from crawler.archive.writer import BackgroundWarcWriter, PendingRecord, WriterFailed, WriterSpec
from crawler.config import WarcConfig
from crawler.distributed.coordinator import REFUSED_REASON
from crawler.extensions.crawl_run import CrawlRunExtension
from crawler.incremental.crawl import IncrementalCrawl
from crawler.publishing.publisher import ArchivePublisher

logger = logging.getLogger(__name__)

WARC_META = "warc"  # request.meta key: the response record (a PendingRecord)
# Response flag set by the browser download handler on pages it archived itself.
ARCHIVED_BY_BROWSER = "archived_by_browser"


def _file_name_host() -> str:
    """This machine's name, reduced to what a WARC file name may hold."""
    return re.sub(r"[^A-Za-z0-9.]+", "-", socket.gethostname()).strip("-.") or "host"


class WarcArchiveMiddleware:
    def __init__(self, config: WarcConfig, crawl_id: str, portal_url: str, stats):
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
        self.writer_spec = WriterSpec(
            config.spool_dir / crawl_id, info, prefix=config.prefix, max_size=config.max_size
        )
        self.writer: BackgroundWarcWriter | None = None  # started when the spider opens
        self.crawler = None  # set by from_crawler
        # Found when the spider opens: the crawl's one publisher (CrawlRunExtension's, which
        # writes the manifest) and its incremental state.
        self.publisher: ArchivePublisher | None = None
        self.incremental: IncrementalCrawl | None = None
        self.bytes_written = 0  # WARC bytes the writer reported
        self._stopping = False

    @classmethod
    def from_crawler(cls, crawler):
        config = WarcConfig.from_settings(crawler.settings)
        if not config.enabled:
            raise NotConfigured("WARC_ENABLED is off")
        middleware = cls(
            config,
            crawler.settings.get("CRAWL_ID"),
            crawler.settings.get("PORTAL_URL"),
            crawler.stats,
        )
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        middleware.crawler = crawler
        return middleware

    # -- lifecycle ---------------------------------------------------------

    def spider_opened(self, spider):
        """Before the first fetch: start the writer."""
        run = self.crawler.get_extension(CrawlRunExtension)
        if run is None:
            raise RuntimeError("the WARC archive needs CrawlRunExtension (the add-on wires it)")
        self.publisher = run.publisher
        self.incremental = self.crawler.get_extension(IncrementalCrawl)
        # On the loop, before the future of the job that closed the file is resolved: a
        # file is published before anyone awaiting that job (spider_closed) resumes.
        self.writer = BackgroundWarcWriter(
            self.writer_spec, on_closed=lambda path: self.publisher.publish(path, self.crawl_id)
        )

    async def spider_closed(self, spider, reason):
        if self.writer is not None:
            # Everything submitted is written first; the file is published before this
            # await resumes, so `finish` sees it.
            try:
                await self.writer.close_file()
            except WriterFailed as exc:
                self._write_failed(exc)
            self.writer.shutdown()
            self.stats.set_value("archive/warc_bytes", self.bytes_written)
            self._mend_after_writer()
        if reason != REFUSED_REASON:  # (a worker too late to join its crawl: nothing)
            await self.publisher.finish(self.crawl_id)

    def _mend_after_writer(self) -> None:
        """A writer that died left its file open: cut it back to its last complete record
        (every record the crawl heard of is in it) and store it with the rest."""
        for path in recover_spool(self.writer_spec.spool_dir):
            logger.warning("the WARC writer left %s open: mended, to be stored", path.name)
            self.stats.inc_value("archive/files/repaired")
            self.publisher.publish(path, self.crawl_id)

    # -- writing -----------------------------------------------------------

    def archive_exchange(self, data: ExchangeData) -> PendingRecord:
        """Queue the request and response records of one exchange for writing."""
        response_id = new_record_id()
        # A payload the archive already holds (incremental state) becomes a revisit record.
        incremental = self.incremental
        archived = incremental.archived_payload(data.url) if incremental is not None else None
        written = self.submit(
            partial(build_exchange_records, data, response_id=response_id, archived=archived)
        )
        self.stats.inc_value("archive/records", 2)
        self.stats.inc_value("archive/payload_bytes", len(data.body))
        return PendingRecord(response_id, written)

    def submit(
        self, build: Callable[[], Sequence[ArcWarcRecord]]
    ) -> asyncio.Future[list[RecordLocation]]:
        """Queue records for writing: the writer calls `build()` and writes what it returns.

        `build` must pickle (a module-level function of crawler.archive.records, or a
        `functools.partial` of one over plain data): the writer need not share this thread,
        nor this process. The future says where each record landed; a failed write is
        logged and counted here, so nobody has to wait on the future to hear of it.
        """
        if self.writer is None:
            raise RuntimeError("the WARC writer starts when the spider opens")
        written = self.writer.submit(build)
        written.add_done_callback(self._check_written)
        return written

    def process_response(self, request, response):
        if ARCHIVED_BY_BROWSER in response.flags:
            # Archived by the browser handler (crawler/browser/) from what the browser
            # received; its document record is already in request.meta[WARC_META].
            return response
        # Popped: a redirect copies meta into the next request, which has its own capture.
        capture = request.meta.pop(WIRE_META, None)
        data, exact = exchange_data(request, response, capture)
        request.meta[WARC_META] = self.archive_exchange(data)
        if not exact:
            self.stats.inc_value("archive/heads_rebuilt")
        return response

    def page_parsed(self, response, outlinks: list[str], fetched_by: FetchedBy = "http") -> None:
        """The page's ``metadata`` record: its outlinks and where it was found."""
        pending = response.meta.get(WARC_META)
        if pending is None:
            return
        self.submit(
            partial(
                one_record,
                build_metadata_record,
                response.url,
                utc_now(),
                concurrent_to=pending.record_id,
                outlinks=list(outlinks),
                via=response.meta.get("via"),
                fetched_by=fetched_by,
            )
        )
        self.stats.inc_value("archive/records")

    def _check_written(self, written: asyncio.Future) -> None:
        error = written.exception()
        if error is not None:
            self._write_failed(error)
        else:
            self.bytes_written += sum(location.length for location in written.result())
            self.stats.set_value("archive/warc_bytes", self.bytes_written)

    def _write_failed(self, error: BaseException) -> None:
        self.stats.inc_value("archive/write_errors")
        if self.writer is None or not self.writer.gone:
            logger.error("could not write WARC records: %s", error)
            return
        # An archiver that cannot archive must not go on fetching: stop, once. What was
        # written stays in the spool for the next run.
        if not self._stopping:
            self._stopping = True
            logger.error("%s: stopping the crawl; the next run stores what was written", error)
            self._closing = asyncio.ensure_future(
                self.crawler.engine.close_spider_async(reason="archive_failed")
            )
