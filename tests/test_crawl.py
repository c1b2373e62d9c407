"""Whole crawls of the fixture portal, one per theme, checked against its ground truth."""

from __future__ import annotations

import json
from collections import Counter
from urllib.parse import urlsplit

from fixture_portal import FixturePortal, build_site, expected_items
from fixture_portal.generate import CUE_CASES
from tests.crawl import run_crawl

RUN_FIELDS = ("fetched_url", "crawl_id", "crawled_at", "warc", "version", "replaces")


def test_every_article_exactly_once_equal_to_the_ground_truth(crawled):
    items = crawled.result.items
    urls = [item["url"] for item in items]
    assert len(urls) == len(set(urls)), "an article was exported twice"
    assert sorted(urls) == sorted(crawled.expected)
    for item in items:
        page_fields = {k: v for k, v in item.items() if k not in RUN_FIELDS}
        assert page_fields == crawled.expected[item["url"]], item["url"]


def test_run_fields(crawled):
    aliases = crawled.site.aliases(crawled.base_url)
    for item in crawled.result.items:
        assert item["crawl_id"] == "test-crawl"
        assert item["crawled_at"].endswith("Z")
        assert set(item["warc"]) == {"filename", "offset", "length", "record_id"}
        assert item["fetched_url"] == item["url"] or aliases.get(item["fetched_url"]) == item["url"]


def test_dash_capital_o_feed_holds_the_same_items(crawled):
    feed = crawled.result.archive.parent / "items.jsonl"
    exported = [json.loads(line) for line in feed.read_text("utf-8").splitlines()]
    assert exported == crawled.result.items


def test_articles_reachable_only_through_tin_khac_are_found(crawled):
    only = crawled.site.tin_khac_only_urls(crawled.base_url)
    assert only
    assert set(only) <= {item["url"] for item in crawled.result.items}


def test_sapo_and_section_come_from_the_page_whatever_link_led_there(crawled):
    """Posts without a lead, the unlisted category's posts (found only through Tin khác) and
    pages missing a cue come out as their pages say: a listing lends them no section."""
    items = {item["url"]: item for item in crawled.result.items}
    for name in CUE_CASES:
        url = crawled.site.hard_case_url(name, crawled.base_url)
        page_fields = {k: v for k, v in items[url].items() if k not in RUN_FIELDS}
        assert page_fields == crawled.expected[url], name
    unlisted = crawled.site.hard_case_url("unlisted_section", crawled.base_url)
    assert items[unlisted]["section"]["name"] == "Tài liệu"
    # Listed in its section's listing, but its page names no section.
    bare = crawled.site.hard_case_url("no_section_cues", crawled.base_url)
    assert items[bare]["section"] is None
    no_sapo = crawled.site.article(crawled.site.hard_cases["no_sapo"])
    assert items[no_sapo.url(crawled.base_url)]["sapo"] is None
    assert items[no_sapo.url(crawled.base_url)]["body"].startswith(no_sapo.paragraphs[0])


def test_each_article_is_fetched_once_and_never_as_its_amp_twin(crawled):
    article_paths = Counter(p for p in crawled.paths if p.split("?")[0].endswith(".html"))
    # The URL that always answers 500 is tried 1 + RETRY_TIMES (settings.mirror: 2) times.
    server_error = urlsplit(crawled.site.server_error_url(crawled.base_url)).path
    assert article_paths.pop(server_error) == 3
    # A scripted article is fetched, found to lack its Tin khác, and rendered: twice.
    for url in crawled.site.scripted_urls(crawled.base_url):
        assert article_paths.pop(urlsplit(url).path) == 2
    assert set(article_paths.values()) == {1}
    assert not [p for p in crawled.paths if "/amp" in p]


def test_nothing_under_a_robots_disallow_is_fetched(crawled):
    disallowed = {urlsplit(u).path for u in crawled.site.disallowed_urls(crawled.base_url)}
    assert disallowed
    assert not disallowed & {p.split("?")[0] for p in crawled.paths}
    assert not [p for p in crawled.paths if p.startswith(("/wp-admin/", "/noi-bo"))]
    # The disallowed article is linked from a listing: asked for, refused by robots.txt.
    assert crawled.result.stats["robotstxt/forbidden"] >= 1


def test_nothing_off_site_is_requested(crawled):
    stats = crawled.result.stats
    # Every request the crawler made reached the fixture portal; the browser's requests for
    # other hosts (the QR code generator, the Photon CDN) were refused before leaving it.
    browser_subrequests = (
        stats["playwright/request_count"]
        - stats["playwright/request_count/navigation"]
        - stats["browser/blocked_offsite"]
    )
    assert stats["browser/blocked_offsite"] > 0
    assert stats["downloader/request_count"] + browser_subrequests == len(crawled.requests)
    assert stats.get("links/offsite_related", 0) > 0


def test_the_endless_trap_is_cut_off(crawled):
    trap = [p for p in crawled.paths if p.startswith(crawled.site.trap_prefix)]
    # Page 1 is the section URL itself; page 2 repeats it, so the walk stops
    # there, long before PORTAL_MAX_LISTING_PAGES (the cap: test_spider.py).
    assert trap == [crawled.site.trap_prefix + "2/"]
    assert crawled.result.stats["listing/repeated"] == 1
    assert "limits/listing_pages" not in crawled.result.stats
    # The calendar widget's endless day links are neither sections nor articles.
    assert not [p for p in crawled.paths if p.startswith("/lich/")]


def test_bad_pages_are_counted_not_exported(crawled):
    stats = crawled.result.stats
    assert stats["pages/empty/article"] >= 1
    assert stats["pages/not_html/article"] >= 1
    assert stats["items/dropped/no_title"] >= 1
    assert stats["pages/http_error/404"] >= 1
    assert stats["pages/http_error/500"] >= 1
    assert stats["retry/count"] >= 1
    assert stats["pages/charset_corrected"] >= 1
    assert stats["pages/redirect_loop"] == 1
    assert crawled.result.manifest["finish_reason"] == "finished"
    assert "log_count/CRITICAL" not in stats


def test_no_component_fails_along_the_way(crawled):
    # Bad pages are logged as one line each; a traceback means a component of ours broke
    # (a signal handler's error is caught and logged, and the crawl still exits 0).
    assert "Traceback" not in crawled.result.log
    assert "Error caught on signal handler" not in crawled.result.log


def test_sitemap_and_feed_seeds_without_tin_khac(tmp_path):
    """With "Tin khác" not followed, the sitemap and feed still reach every
    listed article; only the Tin-khác-only ones stay out of reach."""
    site = build_site(seed=1)
    with FixturePortal(site, theme="classic") as portal:
        result = run_crawl(
            portal.base_url,
            tmp_path,
            settings={
                "PORTAL_SEED_SITEMAP": True,
                "PORTAL_SEED_FEEDS": True,
                "PORTAL_FOLLOW_RELATED": False,
            },
        )
        expected = expected_items(site, theme="classic", base_url=portal.base_url)
        only_via_tin_khac = set(site.tin_khac_only_urls(portal.base_url))
        paths = [path for _method, path, _headers in portal.request_log]
    assert result.returncode == 0, result.log[-3000:]
    assert {item["url"] for item in result.items} == set(expected) - only_via_tin_khac
    assert "/wp-sitemap.xml" in paths and "/feed/" in paths
    assert result.stats["seeds/sitemap_articles"] > 0
    assert "seeds/bad_sitemap" not in result.stats


def test_a_bad_portal_url_fails_before_fetching_with_a_clear_message(tmp_path):
    result = run_crawl("notaurl", tmp_path)
    assert result.returncode != 0
    assert "PORTAL_URL: expected an http(s) URL, got 'notaurl'" in result.log
    assert not (tmp_path / "archive" / "items").exists()


def test_a_whole_crawl_of_the_portal_reaches_no_limit(crawled):
    # The bounds (settings/default.py "Bounds") fit a real portal: none is reached, with
    # listings whose next pages' articles were asked for already from "Tin khác" lists.
    report = crawled.result.manifest["report"]
    assert report["limits"] == {}
    # Dropped: only the fixture's bad pages (an empty one, a PDF where an article was, a
    # redirect loop, redirects off the portal), none for size, redirect chains or retries.
    assert set(report["pages"]["dropped"]) <= {
        "empty/article",
        "not_html/article",
        "redirect_loop",
        "off_portal",
    }
