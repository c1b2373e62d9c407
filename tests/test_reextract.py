"""``scrapy reextract`` over whole crawls of the fixture portal, with the network taken away
(tests/reextract_run.py): identical items from today's archive, correct items from an archive
whose extractor was broken, and the same from an archive in S3."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import socket
import subprocess
import sys

import pytest

from crawler.extract import EXTRACTOR_VERSION
from fixture_portal import FixturePortal, build_site, expected_items
from tests.crawl import CrawlResult, assert_no_warning_raised, crawl_command, scrapy_env
from tests.reextract_run import attempts, guard_works, network_guard, read_items, run_reextract
from tests.seaweedfs import SeaweedFS, s3_settings

RUN_FIELDS = ("fetched_url", "crawl_id", "crawled_at", "warc", "version", "replaces")
NEW_ITEMS = f"items/test-crawl.reextract-{EXTRACTOR_VERSION}.jsonl.gz"
SUMMARY = f"items/test-crawl.reextract-{EXTRACTOR_VERSION}.summary.json"

# Injected into the crawl's Python (a sitecustomize module): an extractor bug that cannot be
# had for real from today's code. It wraps the public entry point the spider imports, so the
# crawl runs as always and only two fields come out wrong: no author, a title with a tail.
BROKEN_EXTRACTOR = """
import crawler.extract as extract

_extract_article = extract.extract_article


def extract_article(html, url, urls, rules):
    raw = _extract_article(html, url, urls, rules)
    raw.author = None
    if raw.title:
        raw.title = f"{raw.title} (broken)"
    return raw


extract.extract_article = extract_article
"""


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _listening_port() -> tuple[socket.socket, int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    return server, server.getsockname()[1]


def test_the_network_guard_stops_a_real_connection(tmp_path):
    guard = network_guard(tmp_path / "guard")
    server, port = _listening_port()
    with server:
        assert "network blocked in this test" in guard_works(guard, port)
    assert attempts(guard) and "connect" in attempts(guard)[0]


def test_an_archive_of_todays_code_reextracts_offline_to_its_own_items(crawled, tmp_path):
    # A copy: the session's archive stays as the crawl left it for the other tests.
    archive = tmp_path / "archive"
    shutil.copytree(crawled.result.archive, archive)
    original = archive / "items" / "test-crawl.jsonl.gz"
    before = _digest(original)
    guard = network_guard(tmp_path / "guard")

    done = run_reextract(str(archive), "test-crawl", "--workers", "2", guard=guard, cwd=tmp_path)

    assert done.returncode == 0, done.stderr[-3000:]
    assert attempts(guard) == []
    assert _digest(original) == before
    old, new = read_items(original), read_items(archive / NEW_ITEMS)
    assert [item["url"] for item in new] == [item["url"] for item in old]
    for was, now in zip(old, new, strict=True):
        assert now.pop("extractor_version") == EXTRACTOR_VERSION
        assert now == was, was["url"]
    summary = json.loads((archive / SUMMARY).read_text(encoding="utf-8"))
    assert (summary["articles"], summary["written"], summary["unchanged"]) == (len(old),) * 3
    assert summary["changed_fields"] == {} and summary["no_item"] == {}
    # The scripted section's articles: their items came from the rendered DOM records (the
    # static copies have no Tin khác, so their items would differ).
    assert summary["rendered"] >= 5
    assert summary["processes"] == 2  # both workers made items
    assert f"{len(old)} articles -> {len(old)} items" in done.stdout


def test_an_archive_made_by_a_broken_extractor_is_reextracted_into_correct_items(tmp_path):
    site = build_site(seed=1)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "sitecustomize.py").write_text(BROKEN_EXTRACTOR, encoding="utf-8")
    with FixturePortal(site, theme="alt") as portal:
        command, env = crawl_command(
            portal.base_url,
            tmp_path,
            settings={
                "PORTAL_MAX_LISTING_PAGES": 12,
                "BROWSER_RENDER_URLS": site.scripted_listing_url(portal.base_url) + "$",
                "BROWSER_IDLE_TIME": 0.1,
            },
        )
        env["PYTHONPATH"] = f"{broken}:{env['PYTHONPATH']}"
        completed = subprocess.run(command, cwd=tmp_path, env=env, timeout=900, check=False)
        truth = expected_items(site, theme="alt", base_url=portal.base_url)
    crawl = CrawlResult(completed.returncode, tmp_path / "archive", "test-crawl", "")
    assert crawl.returncode == 0
    made = crawl.items
    assert all(item["title"].endswith(" (broken)") and item["author"] is None for item in made)
    guard = network_guard(tmp_path / "guard")

    done = run_reextract(str(crawl.archive), "--all", guard=guard, cwd=tmp_path)

    assert done.returncode == 0, done.stderr[-3000:]
    assert attempts(guard) == []
    repaired = read_items(crawl.archive / NEW_ITEMS)
    assert sorted(item["url"] for item in repaired) == sorted(truth)
    for item in repaired:
        page_fields = {k: v for k, v in item.items() if k not in RUN_FIELDS}
        assert page_fields.pop("extractor_version") == EXTRACTOR_VERSION
        assert page_fields == truth[item["url"]], item["url"]
    authors = sum(1 for item in truth.values() if item["author"] is not None)
    summary = json.loads((crawl.archive / SUMMARY).read_text(encoding="utf-8"))
    assert summary["changed_fields"] == {
        "title": len(made),
        "content_sha256": len(made),
        "author": authors,
    }
    assert summary["changed"] == len(made) and summary["unchanged"] == 0
    assert f"author           {authors} article(s)" in done.stdout
    # The crawl's own items are still the broken ones.
    assert crawl.items == made


@pytest.mark.parametrize("crawled", ["classic"], indirect=True)  # one theme is enough here
def test_an_archive_in_s3_is_reextracted_in_place(crawled, tmp_path):
    local = crawled.result.archive
    with SeaweedFS() as seaweed:
        client = seaweed.client()
        for path in sorted(local.rglob("*")):
            if path.is_file() and path.relative_to(local).parts[0] != "state":
                key = f"{seaweed.prefix}/{path.relative_to(local).as_posix()}"
                client.put_object(Bucket=seaweed.bucket, Key=key, Body=path.read_bytes())
        env = scrapy_env()
        command = [sys.executable, "-m", "scrapy", "reextract", "test-crawl"]
        command += ["-s", f"ARCHIVE_URI=s3://{seaweed.bucket}/{seaweed.prefix}"]
        for name, value in {**s3_settings(seaweed), "ARCHIVE_S3_ADDRESSING_STYLE": "path"}.items():
            command += ["-s", f"{name}={value}"]
        done = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
        )
        assert_no_warning_raised(done.stderr)
        assert done.returncode == 0, done.stderr[-3000:]
        body = client.get_object(Bucket=seaweed.bucket, Key=f"{seaweed.prefix}/{NEW_ITEMS}")
        stored = body["Body"].read()
    new = [json.loads(line) for line in gzip.decompress(stored).splitlines()]
    old = crawled.result.items
    assert len(new) == len(old)
    for was, now in zip(old, new, strict=True):
        now.pop("extractor_version")
        assert now == was, was["url"]
