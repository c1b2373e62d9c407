"""Test-wide set-up: the asyncio reactor, as the crawler itself runs, and the
whole-crawl fixture shared by the crawl and archive tests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from scrapy.utils.reactor import install_reactor

from fixture_portal import FixturePortal, build_site, expected_items
from tests.crawl import CrawlResult, run_crawl, run_wacz
from tests.served import ServedLog
from tests.slow import mark_slow

MAX_LISTING_PAGES = 12


def pytest_configure(config):
    install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")


# The longest files (a minute or more each, mostly waiting on timeouts, Retry-After or
# workers), started first: the suite runs in two processes (pytest-xdist, whole files each,
# handed out in collection order), which then finish together rather than one waiting for
# the other's last long file.
LONGEST_FIRST = (
    "test_faults_store_hang.py",
    "test_distributed.py",
    "test_faults_stop.py",
    "test_faults_politeness.py",
    "test_politeness_shared.py",
)


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(items):
    mark_slow(items)  # from what each test uses (tests/slow.py), before `-m` selects on it
    yield  # pytest's own ordering (by fixture parameters) and selection
    rank = {name: place for place, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: order kept


@dataclass
class Crawled:
    result: CrawlResult
    site: object
    theme: str
    base_url: str
    requests: list
    expected: dict
    served: ServedLog  # what the portal wrote for each request
    stored_by_crawl: list[str]  # the keys the crawl's manifest listed, before `scrapy wacz`

    @property
    def paths(self) -> list[str]:
        return [path for _method, path, _headers in self.requests]


_CRAWLS: dict[str, Crawled] = {}


@pytest.fixture(scope="session", params=["classic", "alt"])
def crawled(request, tmp_path_factory) -> Crawled:
    """One whole crawl of the fixture portal per theme, items and WARCs kept.

    Kept for the session even when pytest sets the fixture up again: in a test process that
    runs whole files (pytest-xdist), the themes alternate file by file."""
    theme = request.param
    if theme not in _CRAWLS:
        _CRAWLS[theme] = crawl_portal(theme, tmp_path_factory)
    return _CRAWLS[theme]


def crawl_portal(theme: str, tmp_path_factory) -> Crawled:
    site = build_site(seed=1)
    workdir = tmp_path_factory.mktemp(f"crawl-{theme}")
    served = ServedLog()
    with FixturePortal(site, theme=theme) as portal:
        served.tap(portal)
        result = run_crawl(
            portal.base_url,
            workdir,
            "-O",
            "items.jsonl",
            settings={
                "PORTAL_MAX_LISTING_PAGES": MAX_LISTING_PAGES,
                # Small files: the crawl rotates through several.
                "WARC_MAX_SIZE": 256 * 1024,
                # The "Xem thêm" listing is rendered by configuration; the scripted
                # section's articles are found to need the browser by themselves.
                "BROWSER_RENDER_URLS": site.scripted_listing_url(portal.base_url) + "$",
                "BROWSER_IDLE_TIME": 0.1,
            },
        )
        requests = list(portal.request_log)
        expected = expected_items(site, theme=theme, base_url=portal.base_url)
        base_url = portal.base_url
    assert result.returncode == 0, result.log[-3000:]
    stored_by_crawl = sorted(entry["key"] for entry in result.manifest["files"])
    # A crawl stores no WACZ by default; the archive and replay tests read the one the
    # command packs from what the crawl stored, page text included.
    packed = run_wacz(workdir, result.archive, result.crawl_id, "--text")
    assert packed.returncode == 0, packed.stdout + packed.stderr
    return Crawled(result, site, theme, base_url, requests, expected, served, stored_by_crawl)
