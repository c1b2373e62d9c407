"""robots.txt is obeyed by every request, including those that wait for it to arrive."""

from __future__ import annotations

from fixture_portal import FixturePortal, build_site, expected_items
from tests import faults
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


def test_an_unreachable_robots_txt_fetches_nothing_and_the_next_run_everything(tmp_path):
    """robots.txt answering 503 (after the retries): nothing else of the portal is fetched
    (RFC 9309: unreachable means complete disallow), each request not sent counted as a
    failure, not a try; the next run, robots.txt readable again, archives every article."""
    site = build_site(seed=1)
    settings = {"BROWSER_ENABLED": False, "RETRY_TIMES": 1}
    with FixturePortal(site, theme="classic") as portal:
        expected = expected_items(site, theme="classic", base_url=portal.base_url)
        portal.inject("/robots.txt", faults.first(2, faults.answer(503, b"<h1>busy</h1>")))
        first = run_crawl(portal.base_url, tmp_path, crawl_id="first", settings=settings)
        asked = [path for _method, path, _headers in portal.request_log]
        second = run_crawl(portal.base_url, tmp_path, crawl_id="second", settings=settings)
    assert set(asked) == {"/robots.txt"}, asked[:20]
    assert first.stats["robotstxt/unreachable"] == 1
    assert first.stats["pages/failed/robots_unreachable"] >= 1
    assert "robots.txt of 127.0.0.1" in first.log and "is unreachable (HTTP 503)" in first.log
    assert "items/accepted" not in first.stats
    assert first.returncode == 7  # no listing read
    assert first.manifest["report"]["summary"].endswith("walk not started: no section found yet")
    assert second.returncode == 0, second.log[-3000:]
    assert "robotstxt/unreachable" not in second.stats
    assert {item["url"] for item in second.items} == set(expected)
