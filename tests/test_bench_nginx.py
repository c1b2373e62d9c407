"""bench/nginx_site.py: nginx serves the fixture portal as the Python server does, for a
whole crawl (the benchmarks' site)."""

from __future__ import annotations

from bench.nginx_site import NginxSite
from fixture_portal import FixturePortal, build_site, expected_items
from tests.crawl import run_crawl

# Stamped per run or naming where the bytes were stored, not what was extracted.
RUN_FIELDS = {"crawl_id", "crawled_at", "warc"}


def _items(result, base_url: str) -> dict[str, dict]:
    assert result.returncode == 0, result.log[-3000:]
    items = {}
    for item in result.items:
        kept = {key: value for key, value in item.items() if key not in RUN_FIELDS}
        text = repr(kept).replace(base_url, "BASE/")
        items[item["url"].replace(base_url, "BASE/")] = text
    return items


def test_a_crawl_of_nginx_gives_the_items_of_the_python_portal(tmp_path):
    site = build_site(seed=3, n_articles=150)
    (tmp_path / "py").mkdir()
    (tmp_path / "ng").mkdir()
    settings = {"BROWSER_ENABLED": False}
    with FixturePortal(site, theme="classic") as portal:
        python_result = run_crawl(portal.base_url, tmp_path / "py", settings=settings)
        python_items = _items(python_result, portal.base_url)
        truth = expected_items(site, theme="classic", base_url=portal.base_url)
    with NginxSite(site, theme="classic", workdir=tmp_path / "nginx", access_log=True) as served:
        nginx_result = run_crawl(served.base_url, tmp_path / "ng", settings=settings)
        nginx_items = _items(nginx_result, served.base_url)
        access_log = served.access_log.read_text()
    assert nginx_items == python_items
    # Every URL the crawl asked was rendered: the same answers, status by status.
    statuses = {
        key: value
        for key, value in python_result.stats.items()
        if key.startswith(("downloader/response_status_count/", "pages/dropped/"))
    }
    assert statuses == {key: nginx_result.stats.get(key) for key in statuses}
    assert len(python_items) >= len(truth) - len(site.scripted_urls(portal.base_url))
    # Answered by nginx with gzip and keep-alive, not by an error.
    assert " 200 " in access_log
    assert nginx_result.stats["downloader/response_status_count/200"] > 150
    assert served.process is None  # stopped on leaving the block
