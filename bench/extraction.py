"""Cost of the crawl's own extraction per article page, in this process (no network).

    .venv/bin/python bench/extraction.py [--articles 1000] [--theme classic] [--repeat 3]
        [--items OUT.jsonl] [--profile OUT.prof]

Renders every article page of a generated fixture site (seed 7, as bench/crawl_throughput.py)
as its server sends it, then does to each what the crawl does between the response and the
items feed: decode the body (crawler/http_text.py), `extract_article`, `ArticleItem.from_raw`
and the item pipelines that touch the text (clean, dates, stamp). Prints pages/s and CPU ms per
page of the fastest of ``--repeat`` passes. ``--items`` writes the items (JSON Lines, sorted
keys, in page order) for a byte-for-byte comparison before/after a change; ``--profile`` writes
a cProfile of one more pass (read it with ``python -m pstats``).

`measure_extraction(pages, portal_url)` is the same measurement for other callers (e.g. the
re-extraction command comparing its throughput with the crawl's own extraction).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scrapy.http import HtmlResponse  # noqa: E402
from scrapy.settings import Settings  # noqa: E402
from scrapy.utils.test import get_crawler  # noqa: E402

from crawler.config import PortalConfig  # noqa: E402
from crawler.extract import ExtractionError, extract_article  # noqa: E402
from crawler.http_text import decode_html  # noqa: E402
from crawler.items import ArticleItem  # noqa: E402
from crawler.pipelines.clean import CleanTextPipeline  # noqa: E402
from crawler.pipelines.dates import DatesPipeline  # noqa: E402
from crawler.pipelines.stamp import StampPipeline  # noqa: E402
from crawler.spiders.portal import PortalSpider  # noqa: E402
from fixture_portal import build_site  # noqa: E402
from fixture_portal.pages import Router  # noqa: E402
from settings import mirror  # noqa: E402

PORTAL_URL = "http://127.0.0.1:8000/"


def article_pages(articles: int, theme: str, base_url: str = PORTAL_URL) -> list[HtmlResponse]:
    """Every article page of the generated site (seed 7) as the crawl receives it."""
    site = build_site(seed=7, n_articles=articles)
    router = Router(site, theme, base_url)
    pages = []
    for article in site.articles:
        if article.kind != "article":
            continue
        answer = router.resolve("/" + article.path)
        if answer.status != 200 or "html" not in answer.content_type:
            continue
        pages.append(
            HtmlResponse(
                base_url + article.path,
                body=answer.body,
                headers={"Content-Type": answer.content_type},
            )
        )
    return pages


def item_maker(portal_url: str) -> Callable[[HtmlResponse], ArticleItem | None]:
    """What the crawl does with an article response, up to the item the feed exports."""
    # The crawl's settings (settings.mirror), without the add-on: the components are built
    # one by one here.
    settings = {k: getattr(mirror, k) for k in dir(mirror) if k.isupper()}
    settings.pop("ADDONS", None)
    settings.update(PORTAL_URL=portal_url, CRAWL_ID="bench")
    config = PortalConfig.from_settings(Settings(settings))
    crawler = get_crawler(PortalSpider, settings_dict=settings)
    crawler.stats.open_spider()
    pipelines = [p.from_crawler(crawler) for p in (CleanTextPipeline, DatesPipeline, StampPipeline)]

    def make(response: HtmlResponse) -> ArticleItem | None:
        text, _ = decode_html(response)
        try:
            raw = extract_article(text, response.url, config.urls, config.rules)
        except ExtractionError:
            return None
        item = ArticleItem.from_raw(raw, fetched_url=response.url)
        for pipeline in pipelines:
            item = pipeline.process_item(item)
        return item

    return make


def measure_extraction(pages: Iterable[HtmlResponse], portal_url: str = PORTAL_URL) -> dict:
    """One pass of the crawl's extraction over ``pages``: pages, seconds, CPU seconds,
    pages/s and CPU ms per page."""
    pages = list(pages)
    make = item_maker(portal_url)
    wall, cpu = time.perf_counter(), time.process_time()
    for response in pages:
        make(response)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "pages": len(pages),
        "seconds": wall,
        "cpu_seconds": cpu,
        "pages_per_second": len(pages) / wall if wall else 0.0,
        "cpu_ms_per_page": 1000 * cpu / len(pages) if pages else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--theme", default="classic", choices=("classic", "alt"))
    parser.add_argument("--repeat", type=int, default=3, help="passes; the fastest is reported")
    parser.add_argument("--items", type=Path, help="write the items here (JSON Lines)")
    parser.add_argument("--profile", type=Path, help="write a cProfile of one more pass here")
    args = parser.parse_args()

    pages = article_pages(args.articles, args.theme)
    runs = [measure_extraction(pages) for _ in range(args.repeat)]
    best = min(runs, key=lambda run: run["cpu_seconds"])
    print(
        f"{best['pages']} article pages ({args.articles} articles, theme {args.theme}): "
        f"{best['pages_per_second']:.0f} pages/s, {best['cpu_ms_per_page']:.2f} CPU ms/page "
        f"(fastest of {args.repeat})"
    )
    if args.items:
        make = item_maker(PORTAL_URL)
        with args.items.open("w", encoding="utf-8") as out:
            for response in pages:
                item = make(response)
                fields = asdict(item) if item is not None else None
                out.write(json.dumps(fields, ensure_ascii=False, sort_keys=True) + "\n")
    if args.profile:
        make = item_maker(PORTAL_URL)
        profiler = cProfile.Profile()
        profiler.enable()
        for response in pages:
            make(response)
        profiler.disable()
        profiler.dump_stats(str(args.profile))


if __name__ == "__main__":
    main()
