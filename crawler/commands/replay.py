"""``scrapy replay``: serve the archive with pywb until Ctrl-C, printing the replay URLs; with
``--replaywebpage``, its WACZ files with ReplayWeb.page instead."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.config import ConfigError
from crawler.replay.pywb import (
    DEFAULT_HOST,
    PywbNotInstalled,
    PywbServer,
    PywbStartError,
    first_capture,
    start_pywb,
)
from crawler.replay.replaywebpage import ReplayWebPageNotInstalled, serve_replaywebpage
from crawler.storage import FileStore, S3Store
from crawler.storage_uri import archive_store


class _Stop(Exception):
    """SIGTERM asks the command to stop, as Ctrl-C does."""


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False

    def syntax(self) -> str:
        return "[options]"

    def short_desc(self) -> str:
        return "Replay the archive with pywb (its own environment) and print the replay URLs"

    def add_options(self, parser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--crawl",
            action="append",
            metavar="CRAWL_ID",
            help="replay this crawl (repeatable); default: every indexed crawl",
        )
        parser.add_argument(
            "--port", type=int, default=0, help="port to serve on (default: a free one)"
        )
        parser.add_argument(
            "--host", default=DEFAULT_HOST, help=f"address to serve on (default {DEFAULT_HOST})"
        )
        parser.add_argument(
            "--replaywebpage",
            action="store_true",
            help="serve the crawls' WACZ files with ReplayWeb.page (a local archive only)",
        )

    def run(self, args, opts) -> None:
        if args:
            raise UsageError(f"unexpected arguments: {' '.join(args)}")
        try:
            store = archive_store(self.settings)
        except ConfigError as error:
            raise UsageError(str(error)) from None
        # A local archive is served in place; from S3, pywb reads the WARCs itself.
        root = store.root if isinstance(store, FileStore) else store
        # Before pywb starts: a SIGTERM at any point must still stop it.
        previous = signal.signal(signal.SIGTERM, _raise_stop)
        try:
            if opts.replaywebpage:
                self.exitcode = _serve_replaywebpage(root, opts)
            else:
                self.exitcode = _serve(root, opts)
        except (KeyboardInterrupt, _Stop):
            print(
                f"replay: stopped {'ReplayWeb.page' if opts.replaywebpage else 'pywb'}", flush=True
            )
        except (PywbNotInstalled, PywbStartError, ReplayWebPageNotInstalled, ValueError) as error:
            print(f"replay: {error}", file=sys.stderr, flush=True)
            self.exitcode = 1
        finally:
            signal.signal(signal.SIGTERM, previous)


def _serve(root: Path | S3Store, opts) -> int:
    """Serve until interrupted (the interruption propagates once pywb is stopped), or pywb dies."""
    with start_pywb(root, crawl_ids=opts.crawl, host=opts.host, port=opts.port) as server:
        _print_urls(server, root)
        code = server.process.wait()
        print(f"replay: pywb exited with status {code}; its log ends with:", flush=True)
        print(server.log_tail(), flush=True)
        return 1


def _serve_replaywebpage(root: Path | S3Store, opts) -> int:
    """Serve ReplayWeb.page over the local archive's WACZ files until interrupted."""
    if isinstance(root, S3Store):
        raise ValueError(f"--replaywebpage serves a local archive; {root.uri} is in S3")
    with serve_replaywebpage(root, host=opts.host, port=opts.port) as server:
        crawl_ids = [c for c in server.crawl_ids if not opts.crawl or c in opts.crawl]
        if not crawl_ids:
            raise ValueError(f"no WACZ to open under {root / 'wacz'}")
        print(f"replay: ReplayWeb.page serves {root} at {server.base_url}", flush=True)
        for crawl_id in crawl_ids:
            print(f"replay: crawl {crawl_id}: {server.pages_url(crawl_id)}")
        print("replay: serving until Ctrl-C", flush=True)
        threading.Event().wait()  # until Ctrl-C or SIGTERM
    return 0


def _print_urls(server: PywbServer, root: Path | S3Store) -> None:
    where = root.uri if isinstance(root, S3Store) else root
    print(f"replay: pywb (pid {server.pid}) replays {where} at {server.base_url}/", flush=True)
    for collection in server.collections:
        print(f"replay: crawl {collection.name}: {server.collection_url(collection.name)}")
        capture = first_capture(collection)
        if capture is not None:
            example = server.replay_url(collection.name, capture.url, capture.timestamp)
            print(f"replay:   page {example}")
    print(f"replay: pywb's log: {server.log_path}")
    print("replay: serving until Ctrl-C", flush=True)


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)
