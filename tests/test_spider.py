"""Component tests of the portal spider: real Scrapy responses, no server."""

import pytest
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from crawler.addon import ArchiverAddon, new_crawl_id
from crawler.spiders.portal import PortalSpider
from tests.helpers import project_settings

PORTAL = "https://thanhphohaiphong.gov.vn/"
SECTION = PORTAL + "chuyen-muc/lich-cong-tac/"


@pytest.fixture
def spider():
    crawler = get_crawler(PortalSpider, settings_dict=project_settings(PORTAL_MAX_LISTING_PAGES=5))
    crawler.stats.open_spider()
    return PortalSpider.from_crawler(crawler)


def listing(page: int, articles: list[str]) -> HtmlResponse:
    url = SECTION if page == 1 else f"{SECTION}page/{page}/"
    links = "".join(f'<li><a href="{PORTAL}{slug}.html">{slug}</a></li>' for slug in articles)
    body = f"""<html><head><link rel="next" href="{SECTION}page/{page + 1}/"></head>
<body><ul>{links}</ul><a href="{SECTION}page/{page + 1}/">Sau</a></body></html>"""
    return HtmlResponse(url, body=body.encode(), encoding="utf-8", request=Request(url))


def walk(spider, pages) -> list:
    """Feed listing pages as the engine would; return the requests for further pages."""
    following, previous = [], ()
    for page, articles in enumerate(pages, start=1):
        out = list(
            spider.parse_listing(
                listing(page, articles), {"name": "x", "slug": "x"}, page, previous
            )
        )
        following = [r for r in out if r.callback == spider.parse_listing]
        if not following:
            return out
        previous = following[0].cb_kwargs["previous"]
    return following


def test_an_endless_listing_with_new_links_stops_at_the_cap(spider):
    pages = [[f"day-{page}-{n}" for n in range(3)] for page in range(1, 6)]
    out = walk(spider, pages)
    assert not [r for r in out if r.callback == spider.parse_listing]
    assert spider.crawler.stats.get_value("limits/listing_pages") == 1
    assert spider.crawler.stats.get_value("listing/pages") == 5


def test_a_listing_that_repeats_its_page_stops(spider):
    out = walk(spider, [["a", "b"], ["a", "b"]])
    # Its articles were asked for on page 1 already; no page 3 is asked for.
    assert out == []
    assert spider.crawler.stats.get_value("listing/repeated") == 1


def test_an_empty_listing_page_ends_the_section(spider):
    out = walk(spider, [["a"], []])
    assert out == []
    assert spider.crawler.stats.get_value("listing/pages") == 2


def test_the_addon_generates_a_crawl_id_when_none_is_set(tmp_path):
    # Built with its extensions, which check the archive store and take its state lock.
    archive = {"ARCHIVE_URI": str(tmp_path / "archive"), "WARC_SPOOL_DIR": str(tmp_path / "spool")}
    crawler = get_crawler(
        PortalSpider,
        settings_dict={**project_settings(), **archive, "ADDONS": {ArchiverAddon: 0}},
    )
    crawl_id = crawler.settings["CRAWL_ID"]
    assert len(crawl_id) == len(new_crawl_id())
    assert crawler.settings["FEEDS"]
    # A local archive's items feed is written in the crawl's spool directory, then stored.
    assert any(f"/{crawl_id}/items.jsonl.gz" in uri for uri in crawler.settings["FEEDS"])


# -- bounds (crawler/spiders/bounds.py; whole crawls: test_faults_bounds.py) -------------


def bounded_spider(**limits):
    crawler = get_crawler(PortalSpider, settings_dict=project_settings(**limits))
    crawler.stats.open_spider()
    return PortalSpider.from_crawler(crawler)


def article(url: str, related: list[str], depth: int | None = None) -> HtmlResponse:
    links = "".join(f'<li><a href="{PORTAL}{slug}.html">Tin {slug}</a></li>' for slug in related)
    body = f"""<html><body><h1>Bài {url}</h1><p>Thứ Hai, 01/01/2024 08:00</p>
<p>Đoạn mở đầu của bài viết.</p><p>Nội dung của bài viết.</p><p>V.H.N</p>
<h3>Tiện ích thông tin</h3><h3>Tin khác</h3><ul>{links}</ul></body></html>"""
    meta = {} if depth is None else {"related_depth": depth}
    request = Request(PORTAL + url, meta=meta)
    return HtmlResponse(request.url, body=body.encode(), encoding="utf-8", request=request)


def article_requests(out) -> list:
    return [r for r in out if isinstance(r, Request) and r.callback.__name__ == "parse_article"]


def test_links_past_the_per_page_limit_are_left_and_counted():
    spider = bounded_spider(PORTAL_MAX_LINKS_PER_PAGE=3, PORTAL_FETCH_IMAGES=False)
    # A link repeated on the page counts once; the limit applies in page order.
    related = ["a", "a", "b", "c", "d", "e"]
    requests = article_requests(spider.parse_article(article("x", related)))
    assert [r.url for r in requests] == [f"{PORTAL}{slug}.html" for slug in "abc"]
    assert spider.crawler.stats.get_value("limits/links_per_page") == 2


def test_links_already_asked_for_are_not_counted_as_left():
    spider = bounded_spider(PORTAL_MAX_LINKS_PER_PAGE=1, PORTAL_FETCH_IMAGES=False)
    article_requests(spider.parse_article(article("x", ["d", "e"])))
    article_requests(spider.parse_article(article("y", ["a", "d", "e"])))
    # "e" was left by both pages: counted each time; "d" was asked for by the first.
    assert spider.crawler.stats.get_value("limits/links_per_page") == 2


def test_tin_khac_links_go_one_hop_deeper_and_stop_at_the_depth_limit():
    spider = bounded_spider(PORTAL_MAX_RELATED_DEPTH=2, PORTAL_FETCH_IMAGES=False)
    (first,) = article_requests(spider.parse_article(article("x", ["a"])))
    assert first.meta["related_depth"] == 1
    (second,) = article_requests(spider.parse_article(article("a", ["b"], depth=1)))
    assert second.meta["related_depth"] == 2
    # Deeper requests wait: below articles found on listings.
    assert second.priority < first.priority
    assert article_requests(spider.parse_article(article("b", ["c", "d"], depth=2))) == []
    assert spider.crawler.stats.get_value("limits/related_depth") == 2


def test_a_listing_that_lists_nothing_new_stops_after_the_stale_limit():
    spider = bounded_spider(PORTAL_MAX_STALE_LISTING_PAGES=2, PORTAL_MAX_LISTING_PAGES=100)
    # Three windows of a pool, round and round: no page repeats the one before it.
    windows = [["a", "b"], ["c", "d"], ["e", "f"]]
    out = walk(spider, [windows[n % 3] for n in range(10)])
    assert not [r for r in out if r.callback == spider.parse_listing]
    assert spider.crawler.stats.get_value("listing/pages") == 5
    assert spider.crawler.stats.get_value("limits/stale_listing") == 1


def test_a_listing_whose_articles_were_asked_for_elsewhere_is_not_stale():
    spider = bounded_spider(PORTAL_MAX_STALE_LISTING_PAGES=1, PORTAL_MAX_LISTING_PAGES=4)
    # "Tin khác" lists the section's neighbours: the next pages' articles, asked for already.
    article_requests(spider.parse_article(article("x", ["c", "d", "e", "f", "g", "h"])))
    walk(spider, [["a", "b"], ["c", "d"], ["e", "f"], ["g", "h"]])
    assert spider.crawler.stats.get_value("listing/pages") == 4
    assert spider.crawler.stats.get_value("limits/stale_listing") is None
    assert spider.crawler.stats.get_value("limits/listing_pages") == 1


@pytest.mark.parametrize(
    "reason,limit",
    [("closespider_pagecount", "crawl_pages"), ("closespider_timeout", "crawl_time")],
)
def test_a_crawl_closed_by_a_crawl_limit_counts_it(reason, limit):
    spider = bounded_spider()
    spider.closed(reason)
    spider.closed("finished")
    assert spider.crawler.stats.get_value(f"limits/{limit}") == 1
    assert [k for k in spider.crawler.stats.get_stats() if k.startswith("limits/")] == [
        f"limits/{limit}"
    ]
