"""Pages that need JavaScript, rendered in real Chromium during the whole crawl (``crawled``).

The fixture portal's scripted section builds its articles' "Tin khác" lists from the
WordPress REST API, lazy-loads its images and loads its listing's further posts with a
"Xem thêm" button. The crawl renders the listing by configuration and the articles because
their static HTML lacks the list; everything else stays on the plain HTTP path. pywb then
replays a rendered article, its script-built list included, in headless Chromium; and a
crawl that renders nothing starts no browser process at all.
"""

from __future__ import annotations

import json
import re
import subprocess
from urllib.parse import urlsplit

import psutil
from playwright.sync_api import sync_playwright
from warcio.archiveiterator import ArchiveIterator

from crawler.replay.pywb import start_pywb
from fixture_portal import FixturePortal, build_site, transport
from tests.crawl import crawl_command
from tests.test_archive_crawl import records, responses, warc_files  # noqa: F401 (fixture)

CHROMIUM = "/usr/bin/chromium"


def test_scripted_articles_have_their_complete_related_lists(crawled):
    items = {item["url"]: item for item in crawled.result.items}
    scripted = crawled.site.scripted_urls(crawled.base_url)
    assert len(scripted) >= 10
    for url in scripted:
        assert items[url]["related"] == crawled.expected[url]["related"]
        assert len(items[url]["related"]) == 8
        assert items[url]["images"] == crawled.expected[url]["images"]


def test_only_the_pages_that_need_it_are_rendered(crawled):
    stats = crawled.result.stats
    scripted = crawled.site.scripted_urls(crawled.base_url)
    assert stats["browser/pages/missing_related"] == len(scripted)
    assert stats["browser/pages/url"] == 1  # the "Xem thêm" listing, by configuration
    assert stats["browser/pages"] == len(scripted) + 1
    assert stats["browser/load_more_clicks"] >= 1
    # Pages are always closed; one context serves them all, a few pages at a time.
    assert stats["playwright/page_count/closed"] == stats["playwright/page_count"]
    assert stats["playwright/context_count"] == 1
    assert stats["playwright/page_count/max_concurrent"] <= 4
    assert "browser/settle_timeout" not in stats


def test_what_the_browser_fetched_is_archived(crawled, records):  # noqa: F811
    xhr = [r for r in responses(records) if "/wp-json/wp/v2/posts" in _uri(r)]
    scripted = crawled.site.scripted_urls(crawled.base_url)
    related_calls = [r for r in xhr if "related_to=" in _uri(r)]
    assert len(related_calls) == len(scripted)
    assert [r for r in xhr if "categories=" in _uri(r)]  # "Xem thêm"
    for record in xhr:
        assert record["http"].get_header("Content-Type").startswith("application/json")
        assert int(record["http"].get_header("Content-Length")) == len(record["payload"])
        assert record["payload"][:1] == b"["
        # The portal sends the API's answers gzipped or not by path: a decoded body is said
        # so, a body sent plain is stored as it came.
        gzipped = not transport.gzip_exempt(urlsplit(_uri(record)).path)
        assert (record["http"].get_header("X-Orig-Content-Encoding") == "gzip") == gzipped
        assert record["warc"].get_header("WARC-Payload-Decoded") == ("gzip" if gzipped else None)
    decoded = [r for r in responses(records) if r["http"].get_header("X-Orig-Content-Encoding")]
    assert decoded  # gzipped scripts and styles, as the browser gave them
    for record in decoded:
        assert record["warc"].get_header("WARC-Payload-Decoded") == "gzip"
        assert record["payload"][:2] != b"\x1f\x8b"
        assert int(record["http"].get_header("Content-Length")) == len(record["payload"])
    scripts = {urlsplit(_uri(r)).path for r in responses(records) if _uri(r).endswith(".js")}
    assert "/wp-content/themes/hpnews/js/related.js" in scripts
    doms = {
        _uri(r).removeprefix("urn:dom:"): r["payload"]
        for r in records
        if r["type"] == "resource" and _uri(r).startswith("urn:dom:")
    }
    assert len(doms) == crawled.result.stats["browser/pages"]
    # Each scripted article's rendered DOM holds its "Tin khác" list as the script built it.
    for url in scripted:
        built = doms[url].split(b"data-hp-related", 1)[1].split(b"</ul>", 1)[0]
        assert built.count(b"<li><a ") == len(crawled.expected[url]["related"]), url


def test_a_rendered_item_points_at_the_browsers_document_record(crawled):
    items = {item["url"]: item for item in crawled.result.items}
    directory = crawled.result.archive / "warcs" / crawled.result.crawl_id
    for url in crawled.site.scripted_urls(crawled.base_url)[:3]:
        pointer = items[url]["warc"]
        with open(directory / pointer["filename"], "rb") as fh:
            fh.seek(pointer["offset"])
            record = next(ArchiveIterator(fh))
            assert record.rec_type == "response"
            assert record.rec_headers.get_header("WARC-Target-URI") == url
            assert record.rec_headers.get_header("WARC-Record-ID") == pointer["record_id"]
            # The document as the server sent it: the list is still empty there.
            body = record.content_stream().read()
            assert b"data-hp-related" in body and b"</ul>" in body


def test_pywb_replays_the_script_built_tin_khac(crawled):
    url = crawled.site.scripted_urls(crawled.base_url)[0]
    expected = [link["title"] for link in crawled.expected[url]["related"]]
    timestamp = _capture_timestamp(crawled, url)
    # The fixture portal is gone, and the browser may reach pywb only: whatever the page
    # shows comes from the archive.
    with start_pywb(crawled.result.archive) as pywb, sync_playwright() as playwright:
        pywb_host = urlsplit(pywb.base_url).netloc
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()
            page.route(
                lambda u: (
                    urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc != pywb_host
                ),
                lambda route: route.abort(),
            )
            # pywb's framed replay, as a reader opens it: the page in #replay_iframe, under
            # pywb's banner (an `mp_` URL opened on its own is sent back to this frame).
            page.goto(pywb.replay_url(crawled.result.crawl_id, url, timestamp))
            links = page.frame_locator("#replay_iframe").locator("[data-hp-related] li a")
            links.nth(len(expected) - 1).wait_for(timeout=20_000)
            titles = links.all_text_contents()
        finally:
            browser.close()
        access_log = pywb.log_tail()
    assert titles == expected
    # The script's REST call, answered from the archive.
    assert re.search(r'mp_/\S+/wp-json/wp/v2/posts\?related_to=\d+\S* HTTP/1.1" 200', access_log)


def test_a_crawl_that_renders_nothing_starts_no_browser(tmp_path):
    """The browser (and Playwright's driver) start with the first page to render, not before."""
    site = build_site(seed=1)
    with FixturePortal(site, theme="classic") as portal:
        command, env = crawl_command(
            portal.base_url,
            tmp_path,
            settings={"PORTAL_MAX_LISTING_PAGES": 2, "BROWSER_RENDER_AUTO": False},
        )
        crawl = subprocess.Popen(command, cwd=tmp_path, env=env)
        others = set()
        tree = psutil.Process(crawl.pid)
        while crawl.poll() is None:
            for child in _descendants(tree):
                try:
                    name = child.name()
                except psutil.Error:
                    continue  # ended between listing and reading
                # Scrapy logs the platform at start: Python's platform module runs `uname -p`.
                if not name.startswith("python") and name != "uname":
                    others.add(name)
            try:
                crawl.wait(timeout=0.05)  # paces the sampling
            except subprocess.TimeoutExpired:
                pass
    assert crawl.returncode == 0
    assert others == set()
    stats = json.loads((tmp_path / "archive/crawls/test-crawl/manifest.json").read_text())["stats"]
    # Pages that would have needed the browser were met, and left on the HTTP path.
    assert stats["browser/needed_not_rendered"] > 0
    assert not [key for key in stats if key.startswith(("browser/pages", "playwright/"))]


def _descendants(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.Error:
        return []  # the crawl has just ended


def _capture_timestamp(crawled, url: str) -> str:
    """The 14-digit timestamp of the item's response record, as pywb's URLs take it."""
    pointer = next(item for item in crawled.result.items if item["url"] == url)["warc"]
    path = crawled.result.archive / "warcs" / crawled.result.crawl_id / pointer["filename"]
    with open(path, "rb") as fh:
        fh.seek(pointer["offset"])
        record = next(ArchiveIterator(fh))
        return re.sub(r"\D", "", record.rec_headers.get_header("WARC-Date"))[:14]


def _uri(record) -> str:
    return record["warc"].get_header("WARC-Target-URI")
