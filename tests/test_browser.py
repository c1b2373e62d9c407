"""Pages that need JavaScript, rendered in real Chromium during the whole crawl (``crawled``).

The fixture portal's scripted section builds its articles' "Tin khác" lists from the
WordPress REST API, lazy-loads its images and loads its listing's further posts with a
"Xem thêm" button. The crawl renders the listing by configuration and the articles because
their static HTML lacks the list; everything else stays on the plain HTTP path.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator

from tests.test_archive_crawl import records, responses, warc_files  # noqa: F401 (fixture)


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
        if record["http"].get_header("X-Orig-Content-Encoding"):
            # The browser gave the body decoded: stored so, and said so.
            assert record["http"].get_header("Content-Encoding") is None
            assert record["warc"].get_header("WARC-Payload-Decoded") == "gzip"
            assert record["payload"][:1] == b"["
    decoded = [r for r in responses(records) if r["http"].get_header("X-Orig-Content-Encoding")]
    assert decoded  # gzipped scripts and styles, as the browser gave them
    for record in decoded:
        assert record["warc"].get_header("WARC-Payload-Decoded") == "gzip"
        assert record["payload"][:2] != b"\x1f\x8b"
        assert int(record["http"].get_header("Content-Length")) == len(record["payload"])
    scripts = {urlsplit(_uri(r)).path for r in responses(records) if _uri(r).endswith(".js")}
    assert "/wp-content/themes/hpnews/js/related.js" in scripts
    doms = [r for r in records if r["type"] == "resource" and _uri(r).startswith("urn:dom:")]
    assert len(doms) == crawled.result.stats["browser/pages"]
    assert all(b"data-hp-related" not in d["payload"] or b"<li><a" in d["payload"] for d in doms)


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


def _uri(record) -> str:
    return record["warc"].get_header("WARC-Target-URI")
