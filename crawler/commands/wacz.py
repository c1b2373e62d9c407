"""``scrapy wacz CRAWL_ID``: pack a stored crawl into a WACZ (``wacz/<crawl_id>.wacz``), from
the archive root (``ARCHIVE_URI``, ``file://`` or ``s3://``); ``--text`` puts each article's
text in its pages list, for ReplayWeb.page's full-text search."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.utils.log import configure_logging

from crawler.commands.crawl import EXIT_CONFIG, EXIT_OK, EXIT_UNSTORED
from crawler.config import ConfigError
from crawler.publishing.wacz_export import CrawlNotStored, pack_stored_crawl
from crawler.storage import StorageError
from crawler.storage.redact import hide_secrets_in_logs
from crawler.storage_uri import archive_store


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False

    def syntax(self) -> str:
        return "CRAWL_ID [--text]"

    def short_desc(self) -> str:
        return "Pack a stored crawl into a WACZ (for ReplayWeb.page or a hand-over)"

    def add_options(self, parser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--text",
            action="store_true",
            help="put each article's text in the pages list (full-text search; larger)",
        )

    def run(self, args, opts) -> None:
        if len(args) != 1:
            raise UsageError("give one crawl id")
        configure_logging(self.settings)
        hide_secrets_in_logs(self.settings)
        try:
            store = archive_store(self.settings)
        except ConfigError as error:
            print(f"wacz: {error}", file=sys.stderr, flush=True)
            self.exitcode = EXIT_CONFIG
            return
        try:
            with tempfile.TemporaryDirectory(prefix="wacz-") as workdir:
                stored = pack_stored_crawl(store, args[0], Path(workdir), text=opts.text)
        except (CrawlNotStored, StorageError) as error:
            print(f"wacz: {error}", file=sys.stderr, flush=True)
            self.exitcode = EXIT_UNSTORED
            return
        finally:
            close = getattr(store, "close", None)
            if close is not None:
                close()
        print(f"wacz: {store.uri}/{stored.key} ({stored.size} bytes, listed in the manifest)")
        self.exitcode = EXIT_OK
