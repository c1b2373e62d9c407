"""Faults: a portal that rate-limits, is overloaded, or redirects without end, crawled as a
user runs it (``scrapy crawl portal`` in a subprocess). The fixture portal records when
each request arrived: the gaps asserted are lower bounds on what the server saw (a
behaviour: "not before"), never how fast anything ran."""

from __future__ import annotations

import signal
import subprocess

import pytest

from fixture_portal import FixturePortal, build_site
from tests import faults
from tests.crawl import CrawlResult, crawl_command, run_crawl
from tests.helpers import wait_for

# A small crawl: one section's first listing page, its articles, nothing else.
SMALL = {
    "PORTAL_MAX_LISTING_PAGES": 1,
    "PORTAL_FETCH_IMAGES": False,
    "PORTAL_FOLLOW_RELATED": False,
    "BROWSER_ENABLED": False,
}


@pytest.fixture(scope="module")
def site():
    return build_site(seed=1)


def small(site, portal) -> dict:
    section = portal.base_url + site.sections[0].path.lstrip("/")
    return {**SMALL, "PORTAL_SECTIONS": section}


def article_path(site) -> str:
    return f"/{site.listing(site.sections[0].slug)[0].slug}.html"


def gaps(arrivals: list) -> list[float]:
    return [later[0] - earlier[0] for earlier, later in zip(arrivals, arrivals[1:], strict=False)]


@pytest.mark.parametrize("profile", ["settings.mirror", "settings.default"])
def test_retry_after_is_waited_out_then_the_article_is_archived(site, tmp_path, profile):
    arrivals = []
    with FixturePortal(site) as portal:
        path = article_path(site)
        portal.inject(path, faults.timed(arrivals, faults.first(2, faults.too_many_requests("2"))))
        result = run_crawl(portal.base_url, tmp_path, profile=profile, settings=small(site, portal))
    assert result.returncode == 0, result.log[-3000:]
    assert [target for _, target in arrivals] == [path] * 3
    # Before: the retry came 0.3 s (mirror) or 1.2 s (default profile) after the 429.
    assert all(gap >= 2.0 for gap in gaps(arrivals)), gaps(arrivals)
    assert any(item["url"].endswith(path) for item in result.items)
    stats = result.stats
    assert stats["retry/retry_after"] == 2
    assert stats["backoff/slowed"] >= 1
    assert "pages/http_error/429" not in stats
    assert result.manifest["report"]["politeness"]["retries"] == 2
    assert "Traceback" not in result.log


def test_retry_after_over_the_cap_is_not_retried_and_is_reported(site, tmp_path):
    arrivals = []
    with FixturePortal(site) as portal:
        path = article_path(site)
        portal.inject(path, faults.timed(arrivals, faults.too_many_requests("3600")))
        # The default profile: its cap (RETRY_AFTER_MAX, 300 s) is the product's.
        result = run_crawl(
            portal.base_url, tmp_path, profile="settings.default", settings=small(site, portal)
        )
    # The crawl ends without waiting an hour (the test's timeout is 10 minutes).
    assert result.returncode == 0, result.log[-3000:]
    assert len(arrivals) == 1  # before: retried 1.2 s later
    report = result.manifest["report"]
    # (The small crawl's listing walks are capped too: limits/listing_pages.)
    assert report["limits"]["retry_after_capped"] == 1
    assert report["pages"]["http_errors"] == {"429": 1}
    problems = sum(report["limits"].values()) + sum(report["pages"]["dropped"].values())
    assert f"{problems} pages dropped or limits reached" in report["summary"]
    assert "Retry-After 3600" in result.log and "not retried in this crawl" in result.log
    assert not any(item["url"].endswith(path) for item in result.items)


def test_a_portal_answering_503_slows_the_crawl_down_then_recovers(site, tmp_path):
    """Every request but robots.txt answers 503 five times: the home page, the only
    request the crawl has at first, is retried with growing gaps; when the portal
    answers again the next pages (other URLs) still come slowly, then the crawl recovers."""
    arrivals = []
    with FixturePortal(site) as portal:
        storm = faults.first(5, faults.too_many_requests(None, status=503))
        portal.inject(lambda target: target != "/robots.txt", faults.timed(arrivals, storm))
        result = run_crawl(
            portal.base_url,
            tmp_path,
            settings={**SMALL, "RETRY_TIMES": 5, "PORTAL_SECTIONS": ""},
        )
    assert result.returncode == 0, result.log[-3000:]
    assert [target for _, target in arrivals[:6]] == ["/"] * 6
    seen = gaps(arrivals)
    # The mirror profile: the n-th retry waits at least 0.25 * 2**(n-1) s (RETRY_BACKOFF_BASE
    # 0.5, half kept at least), and so does the portal's slot delay (BACKOFF_START_DELAY 0.5,
    # doubled on each 503, at least half of it kept by the downloader's jitter).
    # Before: 0.07 and 0.2 s, then the home page was given up and the crawl found nothing.
    for n, gap in enumerate(seen[:5], start=1):
        assert gap >= 0.25 * 2 ** (n - 1), seen[:8]
    # The site, not just the URL, was slowed: the next page (another URL) came at least
    # half the relaxed delay (8 s halved once: 4 s) after the home page's answer.
    assert arrivals[6][1] != "/"
    assert seen[5] >= 2.0, seen[:8]
    stats = result.stats
    assert stats["backoff/slowed"] == 5
    assert stats["backoff/max_delay"] == 8.0
    assert stats["backoff/recovered"] == 1
    assert stats["items/accepted"] > 0
    assert "asked to slow down 5 times" in result.manifest["report"]["summary"]
    assert "Traceback" not in result.log


def test_a_closing_crawl_does_not_wait_for_a_parked_retry(site, tmp_path):
    arrivals = []
    with FixturePortal(site) as portal:
        path = article_path(site)
        # Within the cap: the crawl would wait 200 s for it, and stay open meanwhile.
        portal.inject(path, faults.timed(arrivals, faults.too_many_requests("200")))
        command, env = crawl_command(portal.base_url, tmp_path, settings=small(site, portal))
        process = subprocess.Popen(command, cwd=tmp_path, env=env)
        log = tmp_path / "test-crawl.log"
        try:
            wait_for(
                lambda: log.exists() and "retry 1 in 200.0 s" in log.read_text(encoding="utf-8"),
                "the retry to be parked",
            )
            process.send_signal(signal.SIGTERM)
            # Far less than the 200 s the retry waits: the wait is abandoned.
            returncode = process.wait(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    crawled = CrawlResult(returncode, tmp_path / "archive", "test-crawl", log.read_text("utf-8"))
    assert crawled.returncode == 6, crawled.log[-3000:]  # stopped before its end
    assert len(arrivals) == 1
    assert crawled.stats["pages/dropped/retry_abandoned"] == 1
    assert "1 retries still waiting" in crawled.log and path in crawled.log
    assert "Traceback" not in crawled.log


def test_a_crawl_slowed_to_its_max_delay_stops_without_draining_a_backlog(site, tmp_path):
    """Every article answers 429 for good. The default profile lets 8 requests into the
    downloader, queued one delay apart: when the portal slows the crawl down they go back to
    the scheduler and one request at a time goes on. SIGTERM then waits for that one, not
    for a queue of them sent BACKOFF_MAX_DELAY (here 8 s) apart."""
    arrivals = []
    with FixturePortal(site) as portal:
        portal.inject(
            lambda target: target.endswith(".html"),
            faults.timed(arrivals, faults.too_many_requests(None)),
        )
        settings = {**small(site, portal), "BACKOFF_START_DELAY": 1, "BACKOFF_MAX_DELAY": 8}
        command, env = crawl_command(
            portal.base_url, tmp_path, profile="settings.default", settings=settings
        )
        process = subprocess.Popen(command, cwd=tmp_path, env=env)
        log = tmp_path / "test-crawl.log"
        try:
            wait_for(
                lambda: log.exists() and "8.0 s between" in log.read_text(encoding="utf-8"),
                "the crawl slowed to its max delay",
            )
            process.send_signal(signal.SIGTERM)
            # One request goes within 12 s (8 s and its jitter); a queue of 7 more would
            # take about a minute.
            returncode = process.wait(timeout=45)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    crawled = CrawlResult(returncode, tmp_path / "archive", "test-crawl", log.read_text("utf-8"))
    assert crawled.returncode == 6, crawled.log[-3000:]
    assert crawled.stats["backoff/requeued"] >= 1
    assert crawled.stats["backoff/max_delay"] == 8.0
    seen = gaps(arrivals)
    assert max(seen) >= 4.0, seen  # half of 8 s at least: the portal was not hammered
    assert "Traceback" not in crawled.log


def test_a_redirect_chain_past_the_limit_is_counted_and_logged(site, tmp_path):
    with FixturePortal(site) as portal:
        articles = site.listing(site.sections[0].slug)
        long_chain, short_chain = f"/{articles[0].slug}.html", f"/{articles[1].slug}.html"
        # 12 hops for one article (Scrapy follows 10), 10 for another, which arrives.
        for start, hops in ((long_chain, 12), (short_chain, 10)):
            targets = [start] + [f"/hop{start.removesuffix('.html')}/{n}" for n in range(1, hops)]
            for target, following in zip(
                targets, [*targets[1:], f"{start}?arrived=1"], strict=True
            ):
                portal.inject(target, faults.redirect(following))
        result = run_crawl(portal.base_url, tmp_path, settings=small(site, portal))
    assert result.returncode == 0, result.log[-3000:]
    assert result.stats["pages/dropped/too_many_redirects"] == 1  # before: no stat at all
    assert result.manifest["report"]["pages"]["dropped"]["too_many_redirects"] == 1
    warning = next(line for line in result.log.splitlines() if "more than 10 redirects" in line)
    assert "WARNING" in warning and long_chain in warning and f"/hop{long_chain[:-5]}/11" in warning
    assert any(short_chain in item["fetched_url"] for item in result.items)
