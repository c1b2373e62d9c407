"""``scrapy reextract``: make a crawl's items again from its WARCs, offline, with today's
extraction (docs/reextract.md)."""

from __future__ import annotations

import os
import sys
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.utils.log import configure_logging

from crawler.config import ConfigError
from crawler.extract import EXTRACTOR_VERSION
from crawler.layout import ITEMS, crawls_with_items, reextract_summary_key
from crawler.reextract.crawl import CrawlSummary, ReextractError, reextract_crawl
from crawler.storage import StorageConfig, StorageError
from crawler.storage.redact import hide_secrets_in_logs
from crawler.storage_uri import archive_store

EXIT_OK = 0
EXIT_FAILED = 1  # a crawl named could not be re-extracted (no items file, store errors)


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_LEVEL": "WARNING"}

    def syntax(self) -> str:
        return "CRAWL_ID [CRAWL_ID ...] | --all [--workers N]"

    def short_desc(self) -> str:
        return "Make crawls' items again from their WARCs with today's extraction, offline"

    def long_desc(self) -> str:
        return (
            "For each crawl named (or every crawl with an items file under ARCHIVE_URI, with"
            " --all), read the archived response of each of its items (the item's WARC"
            " pointer; a browser-rendered page's DOM record, found through the CDXJ indexes),"
            " run today's extraction and item pipelines on it without the network, and store"
            f" items/<crawl_id>{'.reextract-'}<extractor version>.jsonl.gz beside the crawl's"
            " own items (never over them), with a .summary.json saying which fields changed"
            f" for how many articles. This extractor is version {EXTRACTOR_VERSION}. Exit"
            " status 0 when every crawl was re-extracted, 1 when one could not be."
        )

    def add_options(self, parser) -> None:
        super().add_options(parser)
        parser.add_argument("--all", action="store_true", help="every crawl of the archive")
        parser.add_argument(
            "--workers",
            type=int,
            default=len(os.sched_getaffinity(0)),
            metavar="N",
            help="worker processes (default: one per CPU; 1: no pool)",
        )

    def run(self, args, opts) -> None:
        if bool(args) == bool(opts.all):
            raise UsageError("name crawl ids, or --all (not both)")
        if opts.workers < 1:
            raise UsageError(f"--workers: at least 1, got {opts.workers}")
        configure_logging(self.settings)
        hide_secrets_in_logs(self.settings)
        try:
            store = archive_store(self.settings)
            storage = StorageConfig.from_settings(self.settings)
        except ConfigError as exc:
            raise UsageError(str(exc)) from exc
        try:
            crawl_ids = list(args) or crawls_with_items(store.list(f"{ITEMS}/"))
            if not crawl_ids:
                print(f"reextract: no crawl with items under {store.uri}", file=sys.stderr)
            self.exitcode = EXIT_OK
            for crawl_id in crawl_ids:
                try:
                    summary = reextract_crawl(
                        store, storage, self.settings, crawl_id, workers=opts.workers
                    )
                except (ReextractError, StorageError, ValueError) as error:
                    print(f"reextract: {error}", file=sys.stderr, flush=True)
                    self.exitcode = EXIT_FAILED
                    continue
                _print(summary, store.uri)
        finally:
            close = getattr(store, "close", None)
            if close is not None:
                close()


def _print(summary: CrawlSummary, uri: str) -> None:
    rate = summary.articles / summary.seconds if summary.seconds else 0.0
    print(
        f"reextract: crawl {summary.crawl_id}: {summary.articles} articles -> "
        f"{summary.written} items (extractor {summary.extractor_version}), "
        f"{summary.rendered} from rendered DOMs; {summary.seconds:.2f} s, {rate:.1f} pages/s, "
        f"CPU {summary.cpu_seconds:.2f} s, {summary.workers} worker(s)"
    )
    print(f"reextract:   unchanged {summary.unchanged}, changed {summary.changed}")
    for name, count in summary.changed_fields.most_common():
        print(f"reextract:   {name:<16} {count} article(s)")
    for reason, count in sorted(summary.no_item.items()):
        print(f"reextract:   no item now: {reason} ({count})")
    print(f"reextract:   {uri}/{summary.items}")
    print(
        f"reextract:   {uri}/{reextract_summary_key(summary.crawl_id, summary.extractor_version)}"
    )
