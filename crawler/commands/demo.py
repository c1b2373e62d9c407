"""``scrapy demo``: crawl the bundled fixture portal, offline, into ./archive."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from scrapy.commands import ScrapyCommand

from crawler.fixture_portal import FixturePortal, build_site
from crawler.storage_uri import archive_root_uri, local_path

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
        site = build_site(seed=opts.seed, n_articles=opts.articles)
        with FixturePortal(site, theme=opts.theme) as portal:
            print(
                f"demo: fixture portal ({opts.articles} articles, theme {opts.theme})"
                f" at {portal.base_url}"
            )
            crawler = self.crawler_process.create_crawler("portal")
            self.crawler_process.crawl(crawler, portal_url=portal.base_url)
            self.crawler_process.start()
            expected = site.expected_items(theme=opts.theme, base_url=portal.base_url)
        self._report(crawler, expected)

    def _report(self, crawler, expected: dict) -> None:
        stats = crawler.stats.get_stats()
        crawl_id = crawler.settings.get("CRAWL_ID")
        root = local_path(archive_root_uri(crawler.settings.get("ARCHIVE_URI")))
        items_path = root / "items" / f"{crawl_id}.jsonl.gz"
        items = _read_items(items_path)
        exact = sum(
            1
            for item in items
            if {k: v for k, v in item.items() if k not in _RUN_FIELDS} == expected.get(item["url"])
        )
        print(f"demo: crawl {crawl_id} finished ({stats.get('finish_reason')})")
        print(f"demo: {stats.get('downloader/response_count', 0)} responses fetched")
        print(
            f"demo: {len(items)} article items; {exact} of {len(expected)} equal the ground truth"
        )
        print(f"demo: items    {items_path}")
        warcs = sorted((root / "warcs" / crawl_id).glob("*.warc.gz"))
        if warcs:
            size = sum(path.stat().st_size for path in warcs) / 1e6
            print(f"demo: WARC     {warcs[0].parent}/ ({len(warcs)} file(s), {size:.1f} MB)")
            print(f"demo: indexes  {root / 'indexes' / crawl_id}/")
            print(f"demo: WACZ     {root / 'wacz' / f'{crawl_id}.wacz'}")
            print(f"demo: replay   .venv/bin/scrapy replay --crawl {crawl_id}")
        print(f"demo: manifest {root / 'crawls' / crawl_id / 'manifest.json'}")
        if stats.get("finish_reason") != "finished":
            self.exitcode = 1


def _read_items(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]
