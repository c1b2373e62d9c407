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
    assert spider.crawler.stats.get_value("listing/capped") == 1
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
