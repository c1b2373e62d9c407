"""The crawl's WACZ opened in ReplayWeb.page (its npm release, in headless Chromium), served by
`crawler.replay.replaywebpage` as `scrapy replay --replaywebpage` serves it."""

from __future__ import annotations

import re
import shutil
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

from playwright.sync_api import expect, sync_playwright

from crawler.replay.replaywebpage import serve_replaywebpage

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 60_000
REPLAYED_ARTICLES = 3


def _words(text: str) -> str:
    return " ".join(text.split())


def test_the_server_answers_byte_ranges_of_a_wacz(crawled, tmp_path):
    root, crawl_id = crawled.result.archive, crawled.result.crawl_id
    wacz = (root / "wacz" / f"{crawl_id}.wacz").read_bytes()
    with serve_replaywebpage(root) as server:
        url = f"{server.base_url}wacz/{crawl_id}.wacz"
        with urlopen(Request(url, headers={"Range": "bytes=10-29"})) as answer:
            assert answer.status == 206
            assert answer.headers["Content-Range"] == f"bytes 10-29/{len(wacz)}"
            assert answer.read() == wacz[10:30]
        with urlopen(Request(url, headers={"Range": "bytes=-22"})) as answer:
            assert answer.read() == wacz[-22:]  # the zip's end record, read first
        with urlopen(server.base_url + "sw.js") as answer:
            assert answer.status == 200
        assert server.crawl_ids == [crawl_id]


def test_replaywebpage_lists_the_pages_and_replays_articles(crawled, tmp_path):
    # A copy of the archive's WACZ alone: what ReplayWeb.page shows comes from it.
    root = tmp_path / "archive"
    crawl_id = crawled.result.crawl_id
    (root / "wacz").mkdir(parents=True)
    shutil.copy(crawled.result.archive / "wacz" / f"{crawl_id}.wacz", root / "wacz")
    items = crawled.result.items
    # Articles served with their charset declared: the fixture's charset quirks (none, or a
    # wrong one) show as mojibake in a browser, live or replayed alike.
    plain = {crawled.base_url + a.path for a in crawled.site.articles if not a.quirk}
    articles = [item for item in items if item["url"] in plain and item["body"]]
    articles = articles[:REPLAYED_ARTICLES]
    assert len(articles) == REPLAYED_ARTICLES
    with serve_replaywebpage(root) as server, sync_playwright() as playwright:
        host = urlsplit(server.base_url).netloc
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = browser.new_context()
            # The fixture portal is gone; the browser may reach this server only.
            context.route(
                lambda u: urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc != host,
                lambda route: route.abort(),
            )
            page = context.new_page()
            page.goto(server.pages_url(crawl_id))
            # The pages list is the WACZ's pages/pages.jsonl: one page per item.
            expect(page.get_by_text(re.compile(rf"\b{len(items)} pages\b"))).to_be_visible(
                timeout=TIMEOUT_MS
            )
            replayed = {}
            for item in articles:
                page = context.new_page()
                page.goto(server.replay_url(crawl_id, item["url"]))
                body = page.frame_locator("iframe").first.locator("body")
                expect(body).to_contain_text(item["title"], timeout=TIMEOUT_MS)
                replayed[item["url"]] = _words(body.inner_text())
                page.close()
        finally:
            browser.close()
    for item in articles:
        assert _words(item["body"])[:80] in replayed[item["url"]]
