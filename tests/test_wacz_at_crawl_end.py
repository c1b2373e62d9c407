"""WACZ_ENABLED: the crawl packs its WACZ at its end, as before issue 13 (by default it stores
none: `scrapy wacz` makes one on request, tests/test_archive_crawl.py)."""

from __future__ import annotations

import json
import zipfile

from fixture_portal import FixturePortal, build_site
from tests.archive_truth import assert_crawl_true
from tests.crawl import run_crawl


def test_wacz_enabled_packs_it_at_the_end_with_the_text_asked_for(tmp_path):
    site = build_site(seed=5, n_articles=150)
    settings = {"BROWSER_ENABLED": False, "WACZ_ENABLED": True, "WACZ_PAGE_TEXT": True}
    with FixturePortal(site, theme="classic") as portal:
        result = run_crawl(portal.base_url, tmp_path, settings=settings)
    assert result.returncode == 0, result.log[-3000:]
    manifest = assert_crawl_true(result.archive, result.crawl_id)
    assert f"wacz/{result.crawl_id}.wacz" in {entry["key"] for entry in manifest["files"]}
    assert result.stats["archive/wacz"] == 1
    with zipfile.ZipFile(result.archive / "wacz" / f"{result.crawl_id}.wacz") as wacz:
        lines = wacz.read("pages/pages.jsonl").splitlines()[1:]
    pages = {page["url"]: page for page in map(json.loads, lines)}
    items = result.items
    assert set(pages) == {item["fetched_url"] for item in items}
    for item in items:
        text = "\n\n".join(part for part in (item["sapo"], item["body"]) if part)
        assert pages[item["fetched_url"]]["text"] == text
