"""robots.txt is obeyed by every request, including those that wait for it to arrive."""

from __future__ import annotations

from fixture_portal import FixturePortal, build_site
from tests.crawl import run_crawl


def test_requests_waiting_for_robots_txt_obey_it(tmp_path):
    """The crawl starts with the home page and five configured sections, all under a path
    robots.txt forbids: they all wait for robots.txt, and none may reach the portal.
    (Scrapy 2.19's own middleware let every waiter but the first through.)"""
    with FixturePortal(build_site(seed=1), theme="classic") as portal:
        forbidden = [f"{portal.base_url}noi-bo/muc-{n}/" for n in range(5)]
        run = run_crawl(
            portal.base_url,
            tmp_path,
            settings={"BROWSER_ENABLED": False, "PORTAL_SECTIONS": ",".join(forbidden)},
        )
        paths = [path for _method, path, _headers in portal.request_log]
    assert not [path for path in paths if path.startswith("/noi-bo/")], paths[:20]
    assert run.stats["robotstxt/forbidden"] >= len(forbidden)
