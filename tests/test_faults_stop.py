"""A crawl stopped or killed in each way a crawl can end (SIGTERM or SIGINT to the crawl or
to its whole process group, kill -9 of the group): every manifest is true, nothing already
fetched is lost, and the next run walks on until the portal has been walked to its end."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess

import psutil
import pytest

from fixture_portal import FixturePortal, build_site
from tests.archive_truth import all_items, assert_crawl_true, assert_state_true, stored_items
from tests.crawl import crawl_command, run_crawl
from tests.helpers import wait_for

# The HTTP path (the browser's own tests cover rendering); the trap section's listing is
# cut early, as in the other crawl tests.
SETTINGS = {"BROWSER_ENABLED": False, "PORTAL_MAX_LISTING_PAGES": 12}
# Slow enough for a signal to land with every section's walk under way.
SLOW = {**SETTINGS, "CONCURRENT_REQUESTS": 2, "DOWNLOAD_DELAY": 0.02}
STOP_DEADLINE = 120


@pytest.fixture(scope="module")
def site():
    return build_site(seed=1, n_articles=400)


@pytest.fixture(scope="module")
def whole(site, tmp_path_factory):
    """What one uninterrupted crawl of the portal archives: the articles every series of
    runs must end up with."""
    workdir = tmp_path_factory.mktemp("whole")
    with FixturePortal(site, theme="classic") as portal:
        run = run_crawl(portal.base_url, workdir, crawl_id="whole", settings=SETTINGS)
        base_url = portal.base_url
    assert run.returncode == 0, run.log[-3000:]
    return {"base_url": base_url, "urls": set(all_items(workdir / "archive"))}


def listing_pages_read(portal) -> int:
    return sum(1 for _m, path, _h in list(portal.request_log) if "/page/" in path)


def start_crawl(portal, workdir, crawl_id: str) -> subprocess.Popen:
    command, env = crawl_command(portal.base_url, workdir, crawl_id=crawl_id, settings=SLOW)
    # A session of its own: a signal to its process group reaches the crawl and its writer.
    return subprocess.Popen(command, cwd=workdir, env=env, start_new_session=True)


def same_urls(base_url: str, urls: set[str], reference_base: str) -> set[str]:
    return {url.replace(base_url, reference_base) for url in urls}


@pytest.mark.parametrize(
    ("signum", "group"),
    [(signal.SIGTERM, False), (signal.SIGTERM, True), (signal.SIGINT, True)],
    ids=["sigterm-crawl", "sigterm-group", "sigint-group"],
)
def test_a_stopped_crawl_is_true_and_the_next_run_finishes_the_walk(
    site, whole, tmp_path, signum, group
):
    archive = tmp_path / "archive"
    with FixturePortal(site, theme="classic") as portal:
        process = start_crawl(portal, tmp_path, "stopped")
        try:
            wait_for(lambda: listing_pages_read(portal) >= 8, "listing walks under way")
            if group:
                os.killpg(process.pid, signum)
            else:
                process.send_signal(signum)
            # Stopped before its end: exit status 6.
            assert process.wait(timeout=STOP_DEADLINE) == 6
        finally:
            process.kill()
        stopped = assert_crawl_true(archive, "stopped")
        assert stopped["finish_reason"] == "shutdown"
        assert not (tmp_path / "spool" / "stopped").exists(), "everything stored, spool emptied"
        walk = stopped["report"]["walk"]
        assert not walk["complete"] and walk["incomplete_sections"] >= 1, walk
        assert "walk incomplete" in stopped["report"]["summary"]
        known_after_stop = assert_state_true(archive)
        manifest_bytes = (archive / "crawls" / "stopped" / "manifest.json").read_bytes()

        resumed = run_crawl(portal.base_url, tmp_path, crawl_id="resumed", settings=SETTINGS)
        base_url = portal.base_url
    assert resumed.returncode == 0, resumed.log[-3000:]
    assert "resuming the walk of" in resumed.log
    assert resumed.manifest["report"]["walk"]["complete"], (
        resumed.manifest["report"]["walk"],
        resumed.log[-6000:],
    )
    assert_crawl_true(archive, "resumed")
    # The stopped crawl's manifest is as it wrote it.
    assert (archive / "crawls" / "stopped" / "manifest.json").read_bytes() == manifest_bytes
    # Across the two runs, every article the portal has; the second did not fetch again
    # what the first archived.
    items = all_items(archive)
    assert same_urls(base_url, set(items), whole["base_url"]) == whole["urls"]
    assert not set(known_after_stop) & {item["url"] for item in resumed.items}
    known = assert_state_true(archive)
    assert same_urls(base_url, set(known), whole["base_url"]) == whole["urls"]


def test_a_crawl_killed_outright_keeps_its_items_and_the_next_run_finishes(site, whole, tmp_path):
    """kill -9 of the crawl and its writer (a container's OOM kill): the next run mends the
    WARC and the cut-off items file, stores them (never a cut-off file as whole), then
    crawls what the killed run did not archive."""
    archive = tmp_path / "archive"
    spool = tmp_path / "spool" / "killed"
    with FixturePortal(site, theme="classic") as portal:
        process = start_crawl(portal, tmp_path, "killed")
        try:
            wait_for(lambda: listing_pages_read(portal) >= 8, "listing walks under way")
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_DEADLINE)
        finally:
            process.kill()
        assert (spool / "items.jsonl.gz.open").exists()
        after = run_crawl(portal.base_url, tmp_path, crawl_id="after", settings=SETTINGS)
        base_url = portal.base_url
    assert after.returncode == 0, after.log[-3000:]
    killed = assert_crawl_true(archive, "killed")
    assert killed["finish_reason"] == "unfinished: recovered from the spool"
    # Its items file is whole, every item pointing at its record (assert_crawl_true): the
    # items written up to a second before the kill (flushed) are recovered.
    assert len(stored_items(archive, "killed")) == after.stats["items/recovered"] >= 1
    assert_crawl_true(archive, "after")
    items = all_items(archive)
    assert same_urls(base_url, set(items), whole["base_url"]) == whole["urls"]
    assert_state_true(archive)


def test_a_browser_killed_mid_crawl_is_started_again_and_nothing_is_lost(tmp_path):
    """kill -9 of Chromium (every process of it) while it renders the scripted section's
    articles: scrapy-playwright starts a new browser, the crawl goes on and ends normally,
    and what was in flight is fetched by the next run if not by this one."""
    site = build_site(seed=1)
    archive = tmp_path / "archive"
    settings = {"PORTAL_MAX_LISTING_PAGES": 12, "BROWSER_IDLE_TIME": 0.1}
    with FixturePortal(site, theme="classic") as portal:
        command, env = crawl_command(
            portal.base_url, tmp_path, crawl_id="browser", settings=settings
        )
        process = subprocess.Popen(command, cwd=tmp_path, env=env, start_new_session=True)
        try:
            # The browser asks the REST API for a rendered article's "Tin khác".
            wait_for(
                lambda: (
                    sum("related_to=" in path for _m, path, _h in list(portal.request_log)) >= 3
                ),
                "Chromium rendering articles",
            )
            killed = 0
            for child in psutil.Process(process.pid).children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    if "chrom" in child.name().lower():
                        child.kill()
                        killed += 1
            assert killed
            assert process.wait(timeout=STOP_DEADLINE) == 0
        finally:
            process.kill()
        first = assert_crawl_true(archive, "browser")
        assert first["stats"]["playwright/browser_count"] >= 2  # started again
        after = run_crawl(portal.base_url, tmp_path, crawl_id="after-browser", settings=settings)
        base_url = portal.base_url
    assert after.returncode == 0, after.log[-3000:]
    assert_crawl_true(archive, "after-browser")
    assert set(site.scripted_urls(base_url)) <= set(all_items(archive))
    assert_state_true(archive)
