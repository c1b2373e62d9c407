"""``scrapy demo``: crawl the bundled fixture portal, offline, into ./archive.

It prints one screen: what was crawled, whether the items equal the fixture's ground truth,
where the files are and how to look at them. Scrapy's log (its settings, every warning, the
stats dump) goes to a file the screen names, ``logs/demo-<crawl_id>.log`` unless ``--logfile``
or ``LOG_FILE`` says otherwise; the demo is for a person at a terminal, so its log is text
even where ``ARCHIVER_LOG_JSON`` asks for JSON lines.

The fixture portal is test and demo support, not part of the crawler: it is the top-level
``fixture_portal`` package of a checkout (or of the image), imported only when this command
runs. Scrapy imports every command module at start-up, so an import at the top of this module
would load the fake portal into every ``scrapy crawl``.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.addon import new_crawl_id
from crawler.commands.crawl import EXIT_OK, exit_status, on_crawl_error
from crawler.config import ConfigError, crawl_id_from_settings
from crawler.extensions.crawl_run import CrawlRunExtension
from crawler.layout import items_key, manifest_key, wacz_key
from crawler.publishing.report import crawl_report
from crawler.storage import ArchiveStore
from crawler.storage_uri import archive_store

# Fields that depend on the run, not on the page.
_RUN_FIELDS = ("fetched_url", "crawl_id", "crawled_at", "warc", "version", "replaces")
LOG_DIR = Path("logs")


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

    def process_options(self, args, opts) -> None:
        super().process_options(args, opts)
        # Before the crawler process exists: it installs the log handler from these.
        if not self.settings.get("CRAWL_ID"):
            # Named here, so that the log file bears the crawl's name (above the profile's
            # empty default, which run() loads again).
            self.settings.set("CRAWL_ID", new_crawl_id(), priority="cmdline")
        if not self.settings.get("LOG_FILE"):
            try:
                name = crawl_id_from_settings(self.settings)
            except ConfigError:
                name = new_crawl_id()  # the crawl refuses the id and says why
            LOG_DIR.mkdir(exist_ok=True)
            self.settings.set("LOG_FILE", str(LOG_DIR / f"demo-{name}.log"), priority="cmdline")
        self.settings.set("LOG_JSON", False, priority="cmdline")

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
        try:
            site = build_site(seed=opts.seed, n_articles=opts.articles)
        except ValueError as error:  # too few articles for every hard case
            raise UsageError(f"--articles: {error}", print_help=False) from error
        with FixturePortal(site, theme=opts.theme) as portal:
            print(
                f"demo: fixture portal ({opts.articles} generated articles, theme {opts.theme})"
                f" on loopback at {portal.base_url}"
            )
            print(
                f"demo: crawling it as `scrapy crawl portal` does; the full log: "
                f"{self.settings.get('LOG_FILE')}",
                flush=True,
            )
            crawler = self.crawler_process.create_crawler("portal")
            errors: list[BaseException] = []
            on_crawl_error(
                self.crawler_process.crawl(crawler, portal_url=portal.base_url), errors.append
            )
            self.crawler_process.start()
            expected = expected_items(site, theme=opts.theme, base_url=portal.base_url)
        self.exitcode = exit_status(crawler, errors, self.crawler_process.bootstrap_failed)
        self._report(crawler, expected, ran=not errors)

    def _report(self, crawler, expected: dict, ran: bool) -> None:
        log_file = self.settings.get("LOG_FILE")
        if not ran:
            print(f"demo: the crawl did not run (exit status {self.exitcode}); see {log_file}")
            return
        stats = crawler.stats.get_stats()
        crawl_id = crawler.settings.get("CRAWL_ID")
        store = archive_store(crawler.settings)
        print(
            f"demo: crawl {crawl_id} {stats.get('finish_reason')} in "
            f"{stats.get('elapsed_time_seconds', 0):.0f} s: "
            f"{stats.get('response_received_count', 0)} pages fetched "
            f"({stats.get('browser/pages', 0)} rendered in Chromium), "
            f"{stats.get('items/accepted', 0)} articles"
        )
        problems = _problems(stats)
        if problems:
            print(f"demo: {problems} (the fixture portal breaks a few pages on purpose)")
        run = crawler.get_extension(CrawlRunExtension)
        if run is not None and run.unstored:
            print(f"demo: {len(run.unstored)} file(s) not stored, kept in the spool: scrapy sync")
            print(f"demo: log      {log_file}")
            return
        items = _read_items(store, items_key(crawl_id))
        exact = sum(
            1
            for item in items
            if {k: v for k, v in item.items() if k not in _RUN_FIELDS} == expected.get(item["url"])
        )
        print(
            f"demo: {len(items)} article items; {exact} of {len(expected)} equal the ground truth"
            " field by field"
        )
        print(f"demo: items    {store.uri}/{items_key(crawl_id)}")
        manifest = json.loads(store.get_bytes(manifest_key(crawl_id)))
        warcs = [f for f in manifest["files"] if f["key"].startswith(f"warcs/{crawl_id}/")]
        if warcs:
            size = sum(f["size"] for f in warcs) / 1e6
            where = f"{store.uri}/warcs/{crawl_id}/"
            print(f"demo: WARC     {where} ({len(warcs)} file(s), {size:.1f} MB)")
            print(f"demo: indexes  {store.uri}/indexes/{crawl_id}/")
            if store.exists(wacz_key(crawl_id)):
                print(f"demo: WACZ     {store.uri}/{wacz_key(crawl_id)}")
            else:
                print(f"demo: WACZ     .venv/bin/scrapy wacz {crawl_id} (made on request)")
        print(f"demo: manifest {store.uri}/{manifest_key(crawl_id)} (with the crawl report)")
        print(f"demo: log      {log_file}")
        if warcs:
            print(f"demo: replay   .venv/bin/scrapy replay --crawl {crawl_id}")
        if items:
            print(f"demo: look up  .venv/bin/scrapy show {items[0]['url']}")
        if self.exitcode != EXIT_OK:
            print(f"demo: exit status {self.exitcode} (see docs/storage.md)")


def _problems(stats: dict) -> str:
    """HTTP errors, failed fetches, pages dropped and pages without an item, from the crawl
    report."""
    report = crawl_report(stats, stats.get("finish_reason"))
    counts = (
        (sum(report["pages"]["http_errors"].values()), "HTTP error", "HTTP errors"),
        (sum(report["pages"]["failed"].values()), "failed fetch", "failed fetches"),
        (sum(report["pages"]["dropped"].values()), "page dropped", "pages dropped"),
        (
            sum(report["articles"]["dropped"].values()),
            "page without an item",
            "pages without an item",
        ),
    )
    return ", ".join(f"{n} {one if n == 1 else many}" for n, one, many in counts if n)


def _read_items(store: ArchiveStore, key: str) -> list[dict]:
    if not store.exists(key):
        return []
    lines = gzip.decompress(store.get_bytes(key)).decode("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
