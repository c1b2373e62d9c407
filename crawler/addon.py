"""The Scrapy add-on that wires the archiver's components at fixed priorities."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

from crawler.config import BrowserConfig, StoredConfig, crawl_id_from_settings
from crawler.distributed.config import DistributedConfig, new_worker_id
from crawler.extensions.remote_control import SCRAPY_EXTENSION as SCRAPY_REMOTE_CONTROL
from crawler.layout import ITEMS_FILE
from crawler.logs import install_json_handler
from crawler.middlewares.sizes import SCRAPY_COMPRESSION
from crawler.politeness.config import SharedPolitenessConfig
from crawler.publishing.items_file import SPOOL_OPTION
from crawler.storage.redact import hide_secrets_in_logs

SCRAPY_AUTOTHROTTLE = "scrapy.extensions.throttle.AutoThrottle"

PIPELINES = {
    "crawler.pipelines.clean.CleanTextPipeline": 100,
    "crawler.pipelines.dates.DatesPipeline": 200,
    "crawler.pipelines.validate.ValidationPipeline": 300,
    "crawler.pipelines.validate.DeduplicationPipeline": 400,
    "crawler.incremental.pipeline.VersionPipeline": 440,
    "crawler.pipelines.warc_pointers.WarcPointerPipeline": 450,
    "crawler.pipelines.stamp.StampPipeline": 500,
    "crawler.pipelines.wacz_pages.WaczPagesPipeline": 600,
}
DOWNLOADER_MIDDLEWARES = {
    # Right after Scrapy's OffsiteMiddleware (50), before robots.txt (100).
    "crawler.middlewares.scope.ScopeMiddleware": 60,
    # Scrapy's own, with the waiters for robots.txt mended (crawler/middlewares/robots.py).
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.robots.PoliteRobotsTxtMiddleware": 100,
    # Retries that wait (Retry-After, backoff with jitter) in place of Scrapy's, and,
    # just outside it, the slowing down of a site that answers 429/503.
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.politeness.retry.PoliteRetryMiddleware": 550,
    "crawler.politeness.backoff.SiteBackoffMiddleware": 560,
    # Politeness per portal shared through Redis (off without POLITENESS_REDIS_URL): the
    # closest to the downloader, so that a request's turn is when it is sent.
    "crawler.politeness.shared.SharedPolitenessMiddleware": 980,
    # Sees 3xx responses before Scrapy's RedirectMiddleware (600) follows them.
    "crawler.middlewares.redirects.RedirectLoopMiddleware": 610,
    # In place of Scrapy's HttpCompressionMiddleware (590): counts what it drops for size.
    "crawler.middlewares.sizes.SizeLimitsMiddleware": 590,
    # Closest to the downloader: bodies still content-encoded, every exchange.
    "crawler.middlewares.warc.WarcArchiveMiddleware": 950,
}
# The HTTP handler that tees each exchange's heads for the WARC records.
DOWNLOAD_HANDLERS = {
    "http": "crawler.archive.wire.WireCapturingDownloadHandler",
    "https": "crawler.archive.wire.WireCapturingDownloadHandler",
}
# With browser rendering on: one handler that sends marked requests to the browser
# (scrapy-playwright) and the rest down the HTTP path above (or Scrapy's, WARC off).
BROWSER_DOWNLOAD_HANDLERS = {
    "http": "crawler.browser.handler.RenderingDownloadHandler",
    "https": "crawler.browser.handler.RenderingDownloadHandler",
}
EXTENSIONS = {
    # Scrapy's remote control, with a warning when an operator turns it on (it is off).
    SCRAPY_REMOTE_CONTROL: None,
    "crawler.extensions.remote_control.AnnouncedRemoteControl": 0,
    "crawler.extensions.crawl_run.CrawlRunExtension": 100,
    "crawler.incremental.crawl.IncrementalCrawl": 150,
    "crawler.extensions.progress.ProgressExtension": 200,
}


def new_crawl_id(now: datetime | None = None) -> str:
    """``<UTC yyyymmddhhmmss>-<6 hex>``: sorts by time, unique across workers."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%d%H%M%S}-{secrets.token_hex(3)}"


class ArchiverAddon:
    def update_settings(self, settings) -> None:
        if not settings.get("CRAWL_ID"):
            # Same priority as the empty default, so the generated id replaces it.
            settings.set("CRAWL_ID", new_crawl_id(), priority=settings.getpriority("CRAWL_ID"))
        # A path instead of a name is refused before anything is written.
        crawl_id_from_settings(settings)
        if DistributedConfig.from_settings(settings).enabled:
            distributed_worker(settings)
        settings.set("LOG_FORMATTER", "crawler.logformatter.ArchiverLogFormatter", priority="addon")
        if settings.getbool("LOG_JSON"):
            settings.set("LOG_ENABLED", False, priority="addon")
            install_json_handler(settings)
        for path, priority in PIPELINES.items():
            settings["ITEM_PIPELINES"][path] = priority
        for path, priority in DOWNLOADER_MIDDLEWARES.items():
            settings["DOWNLOADER_MIDDLEWARES"][path] = priority
        settings["DOWNLOADER_MIDDLEWARES"][SCRAPY_COMPRESSION] = None
        browser = BrowserConfig.from_settings(settings)
        if browser.enabled:
            for scheme, path in BROWSER_DOWNLOAD_HANDLERS.items():
                settings["DOWNLOAD_HANDLERS"][scheme] = path
            for name, value in browser.playwright_settings().items():
                settings.set(name, value, priority="addon")
        elif settings.getbool("WARC_ENABLED"):
            for scheme, path in DOWNLOAD_HANDLERS.items():
                settings["DOWNLOAD_HANDLERS"][scheme] = path
        for path, priority in EXTENSIONS.items():
            settings["EXTENSIONS"][path] = priority
        if SharedPolitenessConfig.wanted(settings):
            SharedPolitenessConfig.from_settings(settings)  # nonsense refused before the crawl
            # Its delay is computed from every worker's answers, in Redis (politeness/shared.py).
            settings["EXTENSIONS"][SCRAPY_AUTOTHROTTLE] = None
        # -o s3://… feeds stored with checksums, verified; the crawl's own items feed is
        # written in its spool (renamed when whole) and stored with its other files.
        settings["FEED_STORAGES"]["s3"] = "crawler.storage.feeds.ArchiveS3FeedStorage"
        settings["FEED_STORAGES"]["file"] = "crawler.publishing.items_file.SpoolItemsStorage"
        if settings.getbool("ITEMS_FEED_ENABLED"):
            uri, options = items_feed(settings)
            settings["FEEDS"][uri] = options
        hide_secrets_in_logs(settings)


def distributed_worker(settings) -> None:
    """A worker of a distributed crawl (crawler/distributed/): a name of its own, a spool of
    its own under WARC_SPOOL_DIR, WARC file names no other worker can make, the coordinator."""
    worker = new_worker_id(settings.get("DISTRIBUTED_WORKER_ID") or "")
    spool = Path(settings.get("WARC_SPOOL_DIR")).expanduser() / "workers" / worker
    # At the priority each was given (the command line's too): derived, not replaced.
    for name, value in (
        ("DISTRIBUTED_WORKER_ID", worker),
        ("WARC_SPOOL_DIR", str(spool)),
        ("WARC_PREFIX", f"{settings.get('WARC_PREFIX')}-{worker}"),
    ):
        settings.set(name, value, priority=settings.getpriority(name))
    settings["EXTENSIONS"]["crawler.distributed.coordinator.Coordinator"] = 50


def items_feed(settings) -> tuple[str, dict]:
    """The crawl's items feed: into its spool (``items.jsonl.gz``), from where it is stored
    as ``items/<crawl_id>.jsonl.gz`` with the crawl's other files, whatever the store: the
    items of a crawl that dies are recovered like its WARCs."""
    crawl_id = crawl_id_from_settings(settings)
    spool = Path(settings.get("WARC_SPOOL_DIR")).expanduser().resolve() / crawl_id
    options = {
        SPOOL_OPTION: True,
        "format": "jsonlines",
        "encoding": "utf-8",
        "postprocessing": ["crawler.publishing.items_file.ThreadedGzipPlugin"],
        "gzip_compresslevel": StoredConfig.from_settings(settings).items_gzip_level,
        # No temporary file name or time in the gzip header.
        "gzip_filename": "",
        "gzip_mtime": 0,
    }
    return (spool / ITEMS_FILE).as_uri(), options
