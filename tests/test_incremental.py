"""Scheduled crawls into SeaweedFS: the second fetches only what is new or changed, a forced
re-fetch writes revisit records that pywb replays, and two runs never share the state."""

from __future__ import annotations

import gzip
import io
import json
import subprocess

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.replay.pywb import ALL_CRAWLS, start_pywb
from crawler.storage import open_store
from fixture_portal import FixturePortal, build_site, evolve_site, expected_items
from tests.crawl import crawl_command, run_crawl
from tests.helpers import wait_for
from tests.seaweedfs import SeaweedFS, s3_config, s3_settings, stored_objects
from tests.test_crawl import RUN_FIELDS
from tests.test_replay import fetch

# The HTTP path; the browser's own tests cover rendering.
SETTINGS = {"BROWSER_ENABLED": False}


@pytest.fixture(scope="module")
def seaweed():
    with SeaweedFS() as server:
        yield server


def items_of(objects: dict[str, bytes], crawl_id: str) -> list[dict]:
    lines = gzip.decompress(objects[f"items/{crawl_id}.jsonl.gz"]).decode("utf-8").splitlines()
    return [json.loads(line) for line in lines]


def records_of(objects: dict[str, bytes], crawl_id: str) -> list:
    found = []
    for key, body in sorted(objects.items()):
        if key.startswith(f"warcs/{crawl_id}/"):
            for record in ArchiveIterator(io.BytesIO(body)):
                found.append((record.rec_type, record.rec_headers))
    return found


@pytest.fixture(scope="module")
def runs(seaweed, tmp_path_factory):
    """Three crawls of one portal into one S3 prefix: a first, a second after the portal
    gained 3 articles and changed 2, a third forced to fetch everything again."""
    prefix = f"{seaweed.prefix}/incremental"
    settings = {
        **SETTINGS,
        **s3_settings(seaweed),
        "ARCHIVE_URI": f"s3://{seaweed.bucket}/{prefix}",
    }
    site = build_site(seed=1)
    evolved = evolve_site(site, new=3, changed=2)
    workdir = tmp_path_factory.mktemp("incremental")
    with FixturePortal(site, theme="classic") as portal:
        first = run_crawl(portal.base_url, workdir, crawl_id="first", settings=settings)
        first_requests = list(portal.request_log)
        portal.replace_site(evolved)
        second = run_crawl(portal.base_url, workdir, crawl_id="second", settings=settings)
        second_requests = portal.request_log[len(first_requests) :]
        third = run_crawl(
            portal.base_url,
            workdir,
            crawl_id="third",
            settings={**settings, "INCREMENTAL_FULL": True},
        )
        base_url = portal.base_url
    for run in (first, second, third):
        assert run.returncode == 0, run.log[-3000:]
        # The state is saved and the lock released at close, awaited (not left to a thread).
        assert "Traceback" not in run.log, run.log
    return {
        "prefix": prefix,
        "site": evolved,
        "base_url": base_url,
        "first_requests": first_requests,
        "second_requests": second_requests,
        "objects": stored_objects(seaweed, prefix),
        "logs": {"first": first.log, "second": second.log, "third": third.log},
    }


def test_the_second_crawl_fetches_only_the_new_and_changed_articles(runs):
    site, base = runs["site"], runs["base_url"]
    new, changed = set(site.new_urls(base)), set(site.changed_urls(base))
    assert len(new) == 3 and len(changed) == 2
    article_paths = {"/" + a.path for a in site.articles}
    requested = [path for _method, path, _headers in runs["second_requests"]]
    fetched_articles = {base.rstrip("/") + p for p in requested if p in article_paths}
    # The posts that answered badly in the first crawl (empty, not HTML, no title) are asked
    # again: one bad answer is no verdict (they are given up after INCREMENTAL_MAX_TRIES).
    retried = {base + a.path for a in site.articles if a.kind != "article"}
    assert len(retried) == 3
    assert fetched_articles == new | changed | retried
    # Besides them: robots.txt, the home page, the REST API's list of changes, listing pages
    # (each section's first, and a second where the new articles pushed known ones down),
    # the new articles' images and the first crawl's other bad answers (a 404, a 500, a
    # redirect loop). No known article, no known image.
    others = [p for p in requested if p not in article_paths]
    listings = [p for p in others if p.startswith("/chuyen-muc/")]
    assert len(listings) <= 2 * len(site.sections), listings
    assert any(p.startswith("/wp-json/wp/v2/posts?modified_after=") for p in others)
    first_count, second_count = len(runs["first_requests"]), len(runs["second_requests"])
    print(f"second run: {second_count} requests, {second_count / first_count:.3f} of the first")
    assert second_count < first_count / 10


def test_the_second_crawl_emits_exactly_the_new_and_changed_items(runs):
    site, base, objects = runs["site"], runs["base_url"], runs["objects"]
    items = {item["url"]: item for item in items_of(objects, "second")}
    new, changed = set(site.new_urls(base)), set(site.changed_urls(base))
    assert set(items) == new | changed
    expected = expected_items(site, theme="classic", base_url=base)
    for url, item in items.items():
        assert {k: v for k, v in item.items() if k not in RUN_FIELDS} == expected[url]
    first_items = {item["url"]: item for item in items_of(objects, "first")}
    for url in new:
        assert items[url]["version"] == 1 and items[url]["replaces"] is None
    for url in changed:
        replaced = items[url]["replaces"]
        assert items[url]["version"] == 2
        assert replaced["version"] == 1 and replaced["crawl_id"] == "first"
        assert replaced["record_id"] == first_items[url]["warc"]["record_id"]


def test_the_state_lists_every_crawl_and_every_article(runs):
    objects = runs["objects"]
    crawls = json.loads(objects["state/crawls.json"])["crawls"]
    assert [c["crawl_id"] for c in crawls] == ["first", "second", "third"]
    assert [c["mode"] for c in crawls] == ["full", "incremental", "full"]
    lines = gzip.decompress(objects["state/articles.jsonl.gz"]).decode().splitlines()
    known = {json.loads(line)["url"]: json.loads(line) for line in lines}
    expected = expected_items(runs["site"], theme="classic", base_url=runs["base_url"])
    assert set(expected) <= set(known)
    assert "state/lock.json" not in objects  # released


def test_a_forced_refetch_writes_revisits_that_pywb_replays(runs, seaweed):
    objects, site, base = runs["objects"], runs["site"], runs["base_url"]
    revisits = [h for kind, h in records_of(objects, "third") if kind == "revisit"]
    # The pages the second crawl archived come back byte for byte (same portal state):
    # revisits. Every other page changed since the first crawl (its sidebar lists the new
    # posts), so it gets a response record again.
    revisited = {h.get_header("WARC-Target-URI") for h in revisits}
    assert revisited == set(site.new_urls(base)) | set(site.changed_urls(base))
    originals = {
        h.get_header("WARC-Payload-Digest"): h
        for kind, h in records_of(objects, "first") + records_of(objects, "second")
        if kind == "response"
    }
    for headers in revisits:
        assert headers.get_header("WARC-Profile").endswith("/revisit/identical-payload-digest")
        original = originals[headers.get_header("WARC-Payload-Digest")]
        assert headers.get_header("WARC-Refers-To-Target-URI") == original.get_header(
            "WARC-Target-URI"
        )
        assert headers.get_header("WARC-Refers-To-Date") == original.get_header("WARC-Date")
    # The third crawl's items say which version they are and replace nothing.
    third = {item["url"]: item for item in items_of(objects, "third")}
    assert {third[url]["version"] for url in site.changed_urls(base)} == {2}
    assert all(item["replaces"] is None for item in third.values())

    store = open_store(f"s3://{seaweed.bucket}/{runs['prefix']}", s3_config(seaweed))
    expected = expected_items(site, theme="classic", base_url=base)
    # Every revisit is of an article (asserted above: the new and changed ones), each replayed.
    assert revisits
    with start_pywb(store) as pywb:
        for headers in revisits:
            url = headers.get_header("WARC-Target-URI")
            stamp = headers.get_header("WARC-Date").translate(str.maketrans("", "", "-:TZ"))
            replayed = fetch(pywb.replay_url(ALL_CRAWLS, url, stamp, "mp_"))
            assert replayed.status == 200, (url, replayed.status)
            assert expected[url]["title"] in replayed.text


def test_an_overlapping_crawl_does_not_start(runs, seaweed, tmp_path):
    """A crawl that finds another's unexpired lock stops before fetching anything."""
    store = open_store(f"s3://{seaweed.bucket}/{runs['prefix']}", s3_config(seaweed))
    lock = {
        "crawl_id": "still-running",
        "host": "another-host",
        "pid": 1,
        "token": "theirs",
        "since": "2026-11-27T00:00:00+00:00",
        "expires_at": "2999-01-01T00:00:00+00:00",
    }
    store.put_bytes(json.dumps(lock).encode(), "state/lock.json")
    site = build_site(seed=1)
    settings = {
        **SETTINGS,
        **s3_settings(seaweed),
        "ARCHIVE_URI": f"s3://{seaweed.bucket}/{runs['prefix']}",
    }
    try:
        with FixturePortal(site, theme="classic") as portal:
            blocked = run_crawl(portal.base_url, tmp_path, crawl_id="blocked", settings=settings)
            served = len(portal.request_log)
    finally:
        store.delete("state/lock.json")
    assert blocked.returncode == 5, blocked.log[-3000:]  # the state is locked
    assert served == 0
    assert "crawl still-running on another-host is updating" in blocked.log
    crawls = json.loads(store.get_bytes("state/crawls.json"))["crawls"]
    assert "blocked" not in [c["crawl_id"] for c in crawls]


def test_a_crawl_started_while_another_runs_exits_5_and_fetches_nothing(seaweed, tmp_path):
    """Two scheduled runs overlap (two containers: their own spools): the second stops at
    once, the first finishes and records its crawl."""
    prefix = f"{seaweed.prefix}/overlap"
    settings = {
        **SETTINGS,
        **s3_settings(seaweed),
        "ARCHIVE_URI": f"s3://{seaweed.bucket}/{prefix}",
    }
    with FixturePortal(build_site(seed=1), theme="classic") as portal:
        command, env = crawl_command(
            portal.base_url,
            tmp_path / "one",
            crawl_id="long-run",
            # Slow enough to still be running when the second starts.
            settings={**settings, "CONCURRENT_REQUESTS": 1, "DOWNLOAD_DELAY": 0.05},
        )
        (tmp_path / "one").mkdir()
        first = subprocess.Popen(command, cwd=tmp_path / "one", env=env)
        try:
            wait_for(lambda: len(portal.request_log) >= 20, "the first crawl to get going")
            assert first.poll() is None, "the first crawl ended before the second started"
            (tmp_path / "two").mkdir()
            second = run_crawl(
                portal.base_url, tmp_path / "two", crawl_id="overlapping", settings=settings
            )
            assert first.wait(timeout=600) == 0
        finally:
            first.kill()
    assert second.returncode == 5, second.log[-3000:]
    assert "crawl long-run on" in second.log and "not starting a second crawl" in second.log
    # Stopped while the crawler was being built: no engine, no request, no manifest.
    assert "Crawled (" not in second.log and "downloader/request_count" not in second.log
    store = open_store(f"s3://{seaweed.bucket}/{prefix}", s3_config(seaweed))
    crawls = json.loads(store.get_bytes("state/crawls.json"))["crawls"]
    assert [c["crawl_id"] for c in crawls] == ["long-run"]
    assert not store.exists("state/lock.json")
