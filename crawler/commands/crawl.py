"""``scrapy crawl``, Scrapy's own, with an exit status a scheduler can act on.

- 0: the crawl ran and every file it wrote is stored (its manifest last);
- 1: the crawl could not run (Scrapy's own failures: an unknown spider, an error);
- 2: wrong command line (Scrapy's usage error);
- 3: bad configuration, or the archive store refused the credentials, or has no
  such bucket, or (a distributed crawl's worker) the crawl was being finished when it
  came, or is archived elsewhere: nothing was fetched;
- 4: the crawl ran, but some files could not be stored: they are kept in the
  spool, and ``scrapy sync`` (or the next crawl) stores them;
- 5: another run overlaps this one: it holds the archive's state lock (an overlapping
  scheduled run) or the spool (``WARC_SPOOL_DIR``): nothing was fetched;
- 6: the crawl stopped before its end (its archive failed, a shutdown signal, also one
  that came while it stored its files or waited for a distributed crawl's finish);
- 7: no listing page could be read, or a full crawl found no article at all (the
  portal's markup or address changed, or it is down): everything fetched is stored,
  but something is wrong.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError
from twisted.internet.defer import Deferred

from crawler.config import ConfigError, CrawlOverlap
from crawler.extensions.crawl_run import CrawlRunExtension

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 3
EXIT_UNSTORED = 4
EXIT_LOCKED = 5
EXIT_STOPPED = 6
EXIT_NO_ARTICLES = 7
# Finish reasons of a crawl that ran to its end (or to a limit it was given).
COMPLETE_REASONS = ("finished", "closespider_timeout", "closespider_itemcount",
                    "closespider_pagecount", "closespider_errorcount")  # fmt: skip


class Command(ScrapyCrawlCommand):
    def long_desc(self) -> str:
        return (
            "Run a spider of the project. Exit status: 0 everything stored; 1 the crawl "
            "could not run; 2 usage error; 3 bad configuration or the archive store refused "
            "(nothing fetched); 4 files left in the spool (run `scrapy sync`); 5 another "
            "run holds the state lock or the spool; 6 stopped before its end; 7 no listing read or "
            "no article in a full crawl."
        )

    def run(self, args, opts) -> None:
        if len(args) < 1:
            raise UsageError
        if len(args) > 1:
            raise UsageError("running 'scrapy crawl' with more than one spider is not supported")
        crawler = self._create_crawler(args[0])
        errors: list[BaseException] = []
        on_crawl_error(self.crawler_process.crawl(crawler, **opts.spargs), errors.append)
        freeze_start_up_heap()
        self.crawler_process.start()
        self.exitcode = exit_status(crawler, errors, self.crawler_process.bootstrap_failed)


def freeze_start_up_heap() -> None:
    """Leave what start-up built (modules, Scrapy, Twisted, lxml: most of the heap, and
    long-lived) out of the garbage collector's full collections, which would traverse it
    again and again: they took about 7 % of a crawl thread's CPU (bench/crawl_profile.py
    --sampler timers). Its garbage is collected first; objects made later are collected as
    ever."""
    gc.collect()
    gc.freeze()


def on_crawl_error(outcome, record) -> None:
    """Call ``record(exception)`` if the crawl fails to run, and report it."""

    def report(error: BaseException) -> None:
        record(error)
        if isinstance(error, ConfigError):
            logger.error("%s", error)
            print(f"crawl: {error}", file=sys.stderr, flush=True)
        else:
            logger.error("the crawl failed: %s", error, exc_info=error)

    if isinstance(outcome, Deferred):
        outcome.addErrback(lambda failure: report(failure.value))
    elif isinstance(outcome, asyncio.Future):
        outcome.add_done_callback(
            lambda task: (
                None if task.cancelled() or not task.exception() else report(task.exception())
            )
        )


def exit_status(crawler, errors: list[BaseException], bootstrap_failed: bool) -> int:
    if any(isinstance(error, CrawlOverlap) for error in errors):
        return EXIT_LOCKED
    if any(isinstance(error, ConfigError) for error in errors):
        return EXIT_CONFIG
    if errors or bootstrap_failed:
        return EXIT_FAILED
    run = crawler.get_extension(CrawlRunExtension)
    stats = crawler.stats.get_stats() if crawler.stats else {}
    if stats.get("distributed/role") == "refused":
        return EXIT_CONFIG  # it did not join the crawl (logged then): nothing fetched
    # A crawl cut short is the first thing to hear of (what it wrote is stored, or kept
    # in the spool for the next run, either way).
    if stats.get("finish_reason") not in COMPLETE_REASONS:
        return EXIT_STOPPED
    if run is not None and not run.ended:
        # A shutdown signal in the crawl's end (storing, finishing, waiting for the worker
        # that finishes), or an error there: nothing of that end can be claimed.
        logger.error(
            "crawl %s: its end did not run to its close (a shutdown signal, or an error "
            "logged above): what it wrote is stored or kept in the spool; the next run of "
            "the crawl (or `scrapy sync`) completes it",
            run.crawl_id,
        )
        return EXIT_STOPPED
    if run is not None and run.unstored:
        return EXIT_UNSTORED
    role = stats.get("distributed/role")
    if role == "unfinished":
        return EXIT_STOPPED  # a distributed crawl's worker lost Redis at its end
    if role == "member":
        return EXIT_OK  # the finishing worker judges the crawl as a whole
    # No listing page read at all, or a full crawl without one article: the portal is down,
    # moved, or its markup changed. (An incremental crawl may rightly find nothing new.)
    full = stats.get("incremental/mode", "full") == "full"
    if not stats.get("listing/pages") or (full and not stats.get("items/accepted")):
        return EXIT_NO_ARTICLES
    return EXIT_OK
