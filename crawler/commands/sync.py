"""``scrapy sync``: store what crawls left in the spool, without crawling.

Crawls that lost their store (or were killed) leave their files in the spool
(``WARC_SPOOL_DIR``); this repairs files a killed crawl left open, indexes and
packs what is missing, stores every file (verified) and each crawl's manifest
last, then removes what was stored. Exit status as ``scrapy crawl``'s: 0 all
stored, 3 bad configuration or the store refused us, 4 files still left, 5 a crawl or
another sync runs on the spool.
"""

from __future__ import annotations

import os
import sys
from collections import Counter

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.utils.log import configure_logging

from crawler.commands.crawl import EXIT_CONFIG, EXIT_LOCKED, EXIT_OK, EXIT_UNSTORED
from crawler.config import ConfigError, CrawlOverlap, PortalConfig, StoredConfig, WarcConfig
from crawler.publishing.access import check_store
from crawler.publishing.spool_lock import lock_spool
from crawler.publishing.storing import CrawlStorage
from crawler.storage.redact import hide_secrets_in_logs
from crawler.storage_uri import archive_store


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False

    def syntax(self) -> str:
        return "[options]"

    def short_desc(self) -> str:
        return "Store the files crawls left in the spool (after a store outage or a crash)"

    def run(self, args, opts) -> None:
        if args:
            raise UsageError(f"unexpected arguments: {' '.join(args)}")
        configure_logging(self.settings)
        hide_secrets_in_logs(self.settings)
        try:
            self.exitcode = self._sync()
        except CrawlOverlap as error:
            print(f"sync: {error}", file=sys.stderr, flush=True)
            self.exitcode = EXIT_LOCKED
        except ConfigError as error:
            print(f"sync: {error}", file=sys.stderr, flush=True)
            self.exitcode = EXIT_CONFIG

    def _sync(self) -> int:
        # The portal URL titles the WACZ packages it makes: refused as a crawl refuses it.
        PortalConfig.from_settings(self.settings)
        store = archive_store(self.settings)
        spool_dir = WarcConfig.from_settings(self.settings).spool_dir
        lock = lock_spool(spool_dir)
        try:
            if not check_store(store):
                print(f"sync: {store.uri} unreachable; nothing stored", file=sys.stderr)
                return EXIT_UNSTORED
            counts: Counter[str] = Counter()

            def count(key: str, n: int = 1) -> None:
                counts[key] += n

            storage = CrawlStorage(
                store,
                spool_dir,
                self.settings.get("PORTAL_URL"),
                count,
                pack_wacz=StoredConfig.from_settings(self.settings).wacz,
            )
            crawls = storage.crawl_ids()
            left = storage.sync_leftovers()
        finally:
            os.close(lock)
            close = getattr(store, "close", None)
            if close is not None:
                close()
        print(
            f"sync: {len(crawls)} crawl(s) in {spool_dir}; {counts['archive/upload/files']} "
            f"file(s) stored in {store.uri} ({counts['archive/upload/bytes']} bytes)"
        )
        if left:
            print(f"sync: {len(left)} file(s) still in the spool:", file=sys.stderr)
            for path in left:
                print(f"sync:   {path}", file=sys.stderr)
            return EXIT_UNSTORED
        return EXIT_OK
