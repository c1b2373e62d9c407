"""Re-extraction's parts, in this process: keys, the items stream, the comparison, and a small
archive written record by record (a gzipped page, a rendered page's DOM, a revisit of an
earlier crawl's capture) re-extracted to the items the crawl's code makes of those pages."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from scrapy.settings import Settings

from crawler.archive.cdxj import cdxj_name, index_warc
from crawler.archive.files import RotatingWarcWriter
from crawler.archive.records import (
    ArchivedPayload,
    CrawlInfo,
    build_exchange_records,
    build_rendered_page_records,
    new_record_id,
)
from crawler.extract import EXTRACTOR_VERSION
from crawler.layout import (
    crawls_with_items,
    items_key,
    reextract_items_key,
    reextract_summary_key,
)
from crawler.reextract.crawl import ReextractError, item_lines, reextract_crawl
from crawler.reextract.pages import changed_fields
from crawler.storage import FileStore
from fixture_portal import build_site, render_article
from tests.extraction import extract_item
from tests.helpers import project_settings
from tests.test_replay import PORTAL, article_exchange

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def test_the_new_items_never_take_the_crawls_own_key():
    assert reextract_items_key("c1", 3) == "items/c1.reextract-3.jsonl.gz"
    assert reextract_summary_key("c1", 3) == "items/c1.reextract-3.summary.json"
    assert reextract_items_key("c1", EXTRACTOR_VERSION) != items_key("c1")


def test_the_crawls_with_items_are_those_with_their_own_items_file():
    keys = [
        "items/a.jsonl.gz",
        "items/a.reextract-1.jsonl.gz",
        "items/a.reextract-1.summary.json",
        "items/b.reextract-2.jsonl.gz",  # a crawl's own file gone: nothing to start from
        "items/c.jsonl.gz",
        "warcs/d/x.warc.gz",
        "items/sub/e.jsonl.gz",
    ]
    assert crawls_with_items(keys) == ["a", "c"]


def test_changed_fields_name_what_differs_but_the_version_stamp():
    old = {"url": "u", "title": "A", "images": [{"url": "i", "caption": None}]}
    new = {**old, "title": "B", "images": [{"url": "i", "caption": "c"}], "extractor_version": 9}
    assert changed_fields(old, new) == ["images", "title"]
    assert changed_fields(old, {**old, "extractor_version": 1}) == []


def test_items_are_streamed_in_chunks_and_a_cut_off_file_is_refused(tmp_path, monkeypatch):
    items = [{"url": f"https://x/{n}.html", "body": "ă" * n} for n in range(300)]
    data = gzip.compress("".join(json.dumps(i) + "\n" for i in items).encode("utf-8"))
    (tmp_path / "items").mkdir()
    (tmp_path / "items" / "c.jsonl.gz").write_bytes(data)
    (tmp_path / "items" / "cut.jsonl.gz").write_bytes(data[: len(data) // 2])
    store = FileStore(tmp_path)
    # Many pieces read and inflated, lines cut across them.
    monkeypatch.setattr("crawler.reextract.crawl._CHUNK", 1000)
    monkeypatch.setattr("crawler.reextract.crawl._TEXT", 3000)
    assert list(item_lines(store, "items/c.jsonl.gz")) == items
    with pytest.raises(ReextractError, match="cut off"):
        list(item_lines(store, "items/cut.jsonl.gz"))


def _write(root: Path, crawl_id: str, records_of_pages) -> None:
    warcs, indexes = root / "warcs" / crawl_id, root / "indexes" / crawl_id
    warcs.mkdir(parents=True)

    def stored(path: Path) -> None:
        final = path.rename(warcs / path.name)
        index_warc(final, indexes / cdxj_name(final))

    info = CrawlInfo(crawl_id, PORTAL, "obey", "tests", "host")
    with RotatingWarcWriter(
        root / "spool", info, prefix="t", max_size=30_000, on_closed=stored
    ) as writer:
        for records in records_of_pages:
            yield writer.write(records)


@pytest.fixture
def archive(tmp_path):
    """Crawl ``c0`` archived article 3; crawl ``c1`` archived articles 0-2 (1 rendered: its
    static copy has another title than its DOM) and article 3 again, unchanged: a revisit."""
    site = build_site(seed=1)
    articles = [a for a in site.articles if a.kind == "article" and not a.quirk][:4]
    exchanges = [
        article_exchange(site, a, n, T0 + timedelta(minutes=n)) for n, a in enumerate(articles)
    ]
    first = build_exchange_records(exchanges[3], response_id=new_record_id())
    [[earlier, _]] = list(_write(tmp_path, "c0", [first]))
    archived = ArchivedPayload(
        digest=first[0].rec_headers.get_header("WARC-Payload-Digest"),
        target_uri=exchanges[3].url,
        date=first[0].rec_headers.get_header("WARC-Date"),
    )
    dom = render_article(site, articles[1].slug, theme="classic", base_url=PORTAL)
    static = replace(exchanges[1], body=dom.replace(articles[1].title, "Bản tĩnh").encode())
    pages = []
    for n, data in enumerate([exchanges[0], static, exchanges[2], exchanges[3]]):
        response_id = new_record_id()
        records = list(
            build_exchange_records(
                data, response_id=response_id, archived=archived if n == 3 else None
            )
        )
        if n == 1:
            records += build_rendered_page_records(
                data.url,
                data.fetched_at,
                concurrent_to=response_id,
                dom=dom.encode("utf-8"),
                dom_content_type="text/html; charset=utf-8",
            )
        pages.append(records)
    locations = [where[0] for where in _write(tmp_path, "c1", pages)]
    assert pages[3][0].rec_type == "revisit"
    items = []
    for article, where in zip(articles, locations, strict=True):
        html = render_article(site, article.slug, theme="classic", base_url=PORTAL)
        item = extract_item(html, article.url(PORTAL), PORTAL)
        item.update(
            crawl_id="c1",
            crawled_at="2026-11-30T08:00:00Z",
            warc={
                "filename": where.filename,
                "offset": where.offset,
                "length": where.length,
                "record_id": where.record_id,
            },
        )
        items.append(item)
    return tmp_path, items, earlier


def _store_items(root: Path, items: list[dict]) -> None:
    (root / "items").mkdir(exist_ok=True)
    lines = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)
    (root / "items" / "c1.jsonl.gz").write_bytes(gzip.compress(lines.encode("utf-8")))


def _read(root: Path, key: str) -> list[dict]:
    return [json.loads(line) for line in gzip.decompress((root / key).read_bytes()).splitlines()]


def test_a_crawl_is_reextracted_from_its_records_dom_and_revisit_included(archive):
    root, items, _earlier = archive
    _store_items(root, items)
    settings = Settings(project_settings(PORTAL_URL=PORTAL))

    summary = reextract_crawl(FileStore(root), None, settings, "c1", workers=1)

    new = _read(root, reextract_items_key("c1", EXTRACTOR_VERSION))
    for was, now in zip(items, new, strict=True):
        assert now.pop("extractor_version") == EXTRACTOR_VERSION
        assert now == was, was["url"]
    assert (summary.articles, summary.unchanged, summary.rendered) == (4, 4, 1)
    stored = json.loads((root / reextract_summary_key("c1", EXTRACTOR_VERSION)).read_bytes())
    assert stored["changed_fields"] == {} and stored["written"] == 4


def test_fields_made_wrong_are_made_right_and_counted(archive):
    root, items, _earlier = archive
    wrong = [dict(item) for item in items]
    wrong[0]["sapo"] = "sai"
    wrong[2]["author"] = None
    wrong[2]["images"] = []
    _store_items(root, wrong)
    own = (root / items_key("c1")).read_bytes()

    summary = reextract_crawl(
        FileStore(root), None, Settings(project_settings(PORTAL_URL=PORTAL)), "c1", workers=1
    )

    new = _read(root, reextract_items_key("c1", EXTRACTOR_VERSION))
    assert [item["sapo"] for item in new] == [item["sapo"] for item in items]
    assert new[2]["author"] == items[2]["author"] and new[2]["images"] == items[2]["images"]
    assert summary.changed_fields == {"sapo": 1, "author": 1, "images": 1}
    assert (summary.changed, summary.unchanged) == (2, 2)
    assert summary.examples["sapo"] == [items[0]["url"]]
    assert (root / items_key("c1")).read_bytes() == own  # the crawl's own, untouched


def test_an_item_whose_record_is_gone_gives_no_item_and_says_why(archive):
    root, items, _earlier = archive
    stale = [dict(item) for item in items]
    stale[1]["warc"] = {**stale[1]["warc"], "record_id": "<urn:uuid:not-this-one>"}
    _store_items(root, stale)

    summary = reextract_crawl(
        FileStore(root), None, Settings(project_settings(PORTAL_URL=PORTAL)), "c1", workers=1
    )

    assert summary.no_item == {"unreadable_record": 1}
    assert summary.changed_fields == {"(no item)": 1}
    assert summary.written == 3
