"""``scrapy show URL``: print a URL's archived response from the indexes, without the network."""

from __future__ import annotations

import sys
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.archive.lookup import archive_captures, capture_warc_path, read_capture
from crawler.storage_uri import archive_root_uri, local_path


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
            " first, unless --crawl) and print the newest archived response: status line and"
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
            root = local_path(archive_root_uri(self.settings.get("ARCHIVE_URI")))
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        captures = archive_captures(root, url, crawl_id=opts.crawl)
        if not captures:
            where = f"crawl {opts.crawl}" if opts.crawl else "any crawl"
            print(f"show: no capture of {url} in {where} under {root}", file=sys.stderr)
            self.exitcode = 1
            return
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
            return
        newest = captures[0]
        warc_path = capture_warc_path(root, newest)
        print(
            f"show: {newest.url} captured {newest.timestamp} in crawl {newest.crawl_id}"
            f" ({warc_path.name} at {newest.offset}, {newest.length} bytes)",
            file=sys.stderr,
        )
        response = read_capture(warc_path, newest, decoded=opts.decoded)
        out = sys.stdout.buffer
        out.write(response.head_bytes())
        if not opts.headers_only:
            out.write(response.body)
        out.flush()
