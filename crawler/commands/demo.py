"""``scrapy demo``: crawl the bundled fixture portal, offline, into ./archive.

The fixture portal is test and demo support, not part of the crawler: it is the top-level
``fixture_portal`` package of a checkout (or of the image), imported only when this command
runs. Scrapy imports every command module at start-up, so an import at the top of this module
would load the fake portal into every ``scrapy crawl``.
"""

from __future__ import annotations

import gzip
import json

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.commands.crawl import EXIT_UNSTORED
from crawler.extensions.crawl_run import CrawlRunExtension
from crawler.storage import ArchiveStore
from crawler.storage.spool import items_key, manifest_key, wacz_key
from crawler.storage_uri import archive_store

# Fields that depend on the run, not on the page.
_RUN_FIELDS = ("fetched_url", "crawl_id", "crawled_at", "warc", "version", "replaces")


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = True

    def syntax(self) -> str:
        return "[options]"

    def short_desc(self) -> str:
        return "Crawl the bundled fixture portal (offline) and report what was archived"

    def add_options(self, parser) -> None:
        super().add_options(parser)
        parser.add_argument("--articles", type=int, default=160, help="articles in the portal")
        parser.add_argument("--seed", type=int, default=1, help="seed of the generated portal")
        parser.add_argument(
            "--theme", choices=("classic", "alt"), default="classic", help="markup theme"
        )

    def run(self, args, opts) -> None:
        # A local mirror: no throttling, still robots.txt (settings.mirror).
        self.settings.setmodule("settings.mirror", priority="project")
        try:
            from fixture_portal import FixturePortal, build_site, expected_items
        except ModuleNotFoundError as e:
            if e.name != "fixture_portal":
                raise
            raise UsageError(
                f"scrapy demo needs the fixture_portal package next to crawler/ ({e})",
                print_help=False,
            ) from e
        site = build_site(seed=opts.seed, n_articles=opts.articles)
        with FixturePortal(site, theme=opts.theme) as portal:
            print(
                f"demo: fixture portal ({opts.articles} articles, theme {opts.theme})"
                f" at {portal.base_url}"
            )
            crawler = self.crawler_process.create_crawler("portal")
            self.crawler_process.crawl(crawler, portal_url=portal.base_url)
            self.crawler_process.start()
            expected = expected_items(site, theme=opts.theme, base_url=portal.base_url)
        self._report(crawler, expected)

    def _report(self, crawler, expected: dict) -> None:
        stats = crawler.stats.get_stats()
        crawl_id = crawler.settings.get("CRAWL_ID")
        store = archive_store(crawler.settings)
        run = crawler.get_extension(CrawlRunExtension)
        print(f"demo: crawl {crawl_id} finished ({stats.get('finish_reason')})")
        print(f"demo: {stats.get('downloader/response_count', 0)} responses fetched")
        if run is not None and run.unstored:
            print(f"demo: {len(run.unstored)} file(s) not stored, kept in the spool: scrapy sync")
            self.exitcode = EXIT_UNSTORED
            return
        items = _read_items(store, items_key(crawl_id))
        exact = sum(
            1
            for item in items
            if {k: v for k, v in item.items() if k not in _RUN_FIELDS} == expected.get(item["url"])
        )
        print(
            f"demo: {len(items)} article items; {exact} of {len(expected)} equal the ground truth"
        )
        print(f"demo: items    {store.uri}/{items_key(crawl_id)}")
        manifest = json.loads(store.get_bytes(manifest_key(crawl_id)))
        warcs = [f for f in manifest["files"] if f["key"].startswith(f"warcs/{crawl_id}/")]
        if warcs:
            size = sum(f["size"] for f in warcs) / 1e6
            where = f"{store.uri}/warcs/{crawl_id}/"
            print(f"demo: WARC     {where} ({len(warcs)} file(s), {size:.1f} MB)")
            print(f"demo: indexes  {store.uri}/indexes/{crawl_id}/")
            print(f"demo: WACZ     {store.uri}/{wacz_key(crawl_id)}")
            print(f"demo: replay   .venv/bin/scrapy replay --crawl {crawl_id}")
        print(f"demo: manifest {store.uri}/{manifest_key(crawl_id)}")
        if stats.get("finish_reason") != "finished":
            self.exitcode = 1


def _read_items(store: ArchiveStore, key: str) -> list[dict]:
    if not store.exists(key):
        return []
    lines = gzip.decompress(store.get_bytes(key)).decode("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
