"""``scrapy show URL``: print a URL's archived response from the indexes, without the network."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.archive.lookup import archive_captures, parse_capture
from crawler.config import ConfigError
from crawler.layout import INDEXES, index_keys_by_crawl, warc_key
from crawler.storage import ArchiveStore, FileStore, StorageError
from crawler.storage_uri import archive_store


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "URL [--crawl CRAWL_ID] [--list] [--headers-only] [--decoded]"

    def short_desc(self) -> str:
        return "Print the archived response of a URL (or list its captures), offline"

    def long_desc(self) -> str:
        return (
            "Look URL up in the CDXJ indexes under ARCHIVE_URI (all crawls, newest capture"
            " first, unless --crawl; from S3 the indexes are copied and the record read with a"
            " ranged GET) and print the newest archived response: status line and"
            " headers as stored, a blank line, then the body as stored (still gzipped if the"
            " server sent it gzipped) or content-decoded with --decoded. With --list, print one"
            " line per capture: timestamp, status, mime, crawl id, file, offset, length."
            " Exits with status 1 when the URL has no capture."
        )

    def add_options(self, parser) -> None:
        super().add_options(parser)
        parser.add_argument("--crawl", metavar="CRAWL_ID", help="only this crawl's captures")
        parser.add_argument("--list", action="store_true", help="list the captures")
        parser.add_argument(
            "--headers-only", action="store_true", help="print the status line and headers only"
        )
        parser.add_argument(
            "--decoded", action="store_true", help="undo Content-Encoding (gzip, br, deflate)"
        )

    def run(self, args, opts) -> None:
        if len(args) != 1:
            raise UsageError("show takes exactly one URL")
        [url] = args
        try:
            store = archive_store(self.settings)
        except ConfigError as exc:
            raise UsageError(str(exc)) from exc
        try:
            with tempfile.TemporaryDirectory(prefix="show-") as tmp:
                self.exitcode = _show(
                    store, Path(tmp), url, opts, self.settings.getint("DOWNLOAD_MAXSIZE")
                )
        except StorageError as error:
            print(f"show: {error}", file=sys.stderr)
            self.exitcode = 1


def _show(store: ArchiveStore, tmp: Path, url: str, opts, max_decoded: int) -> int:
    # A local archive's indexes are read in place; an S3 archive's are copied first.
    root = store.root if isinstance(store, FileStore) else _copy_indexes(store, tmp, opts.crawl)
    captures = archive_captures(root, url, crawl_id=opts.crawl)
    if not captures:
        where = f"crawl {opts.crawl}" if opts.crawl else "any crawl"
        print(f"show: no capture of {url} in {where} under {store.uri}", file=sys.stderr)
        return 1
    if opts.list:
        for capture in captures:
            print(
                capture.timestamp,
                capture.status if capture.status is not None else "-",
                capture.mime or "-",
                capture.crawl_id,
                capture.filename,
                capture.offset,
                capture.length,
            )
        return 0
    newest = captures[0]
    key = warc_key(newest.crawl_id, newest.filename)
    print(
        f"show: {newest.url} captured {newest.timestamp} in crawl {newest.crawl_id}"
        f" ({newest.filename} at {newest.offset}, {newest.length} bytes)",
        file=sys.stderr,
    )
    member = store.get_range(key, newest.offset, newest.length)
    try:
        response = parse_capture(
            member, newest, f"{store.uri}/{key}", decoded=opts.decoded, max_decoded=max_decoded
        )
    except ValueError as error:
        print(f"show: {error}", file=sys.stderr)
        return 1
    out = sys.stdout.buffer
    out.write(response.head_bytes())
    if not opts.headers_only:
        out.write(response.body)
    out.flush()
    return 0


def _copy_indexes(store: ArchiveStore, tmp: Path, crawl_id: str | None) -> Path:
    """The store's CDXJ indexes (of one crawl, or all) under ``tmp/indexes/<crawl_id>/``."""
    prefix = f"{INDEXES}/{crawl_id}/" if crawl_id else f"{INDEXES}/"
    for keys in index_keys_by_crawl(store.list(prefix)).values():
        for key in keys:
            target = tmp / key
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(store.get_bytes(key))
    return tmp
