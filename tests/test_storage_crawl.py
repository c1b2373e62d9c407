"""Whole crawls of the fixture portal into a real S3 server (SeaweedFS, keys checked):
every file stored and listed in the manifest, an outage mid-crawl that loses nothing,
wrong keys refused before any fetch, an identity limited to the prefix, no secret in
any output."""

from __future__ import annotations

import gzip
import hashlib
import html
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from fixture_portal import FixturePortal, build_site
from tests.crawl import assert_no_warning_raised, crawl_command, run_wacz, scrapy_env
from tests.helpers import wait_for
from tests.seaweedfs import Keys, SeaweedFS, s3_settings, stored_objects
from tests.served import Served, ServedLog, assert_stored_as_sent, response_records
from tests.test_archive_records import assert_fastwarc_digests, assert_warcio_check

SETTINGS = {
    "PORTAL_MAX_LISTING_PAGES": 3,
    # Small files: the crawl stores many while it runs.
    "WARC_MAX_SIZE": 65536,
    "BROWSER_ENABLED": False,
}
# Fail fast while the store is away: 2 attempts, 1 s to connect.
OUTAGE_SETTINGS = {
    "ARCHIVE_S3_MAX_ATTEMPTS": 2,
    "ARCHIVE_S3_CONNECT_TIMEOUT": 1,
    "ARCHIVE_S3_READ_TIMEOUT": 5,
}


@dataclass
class Run:
    returncode: int
    output: str
    log: str
    seconds: float
    answers: list[Served] | None = None  # what the portal wrote meanwhile, if it was tapped


def scrapy(workdir: Path, *args: str, settings: dict, log_name: str) -> Run:
    """A ``scrapy`` command (settings.mirror) in ``workdir``, output captured; fails if a
    warning was raised in it."""
    command = [sys.executable, "-m", "scrapy", *args, "-s", f"LOG_FILE={workdir / log_name}"]
    for name, value in settings.items():
        command += ["-s", f"{name}={value}"]
    started = time.monotonic()
    done = subprocess.run(
        command, cwd=workdir, env=scrapy_env(), capture_output=True, text=True, timeout=600
    )
    log_file = workdir / log_name
    run = Run(
        done.returncode,
        done.stdout + done.stderr,
        log_file.read_text(encoding="utf-8") if log_file.exists() else "",
        time.monotonic() - started,
    )
    assert_no_warning_raised(run.output + run.log)
    return run


def crawl(workdir: Path, portal, uri: str, crawl_id: str, settings: dict) -> Run:
    command, _env = crawl_command(portal.base_url, workdir, crawl_id=crawl_id)
    args = command[command.index("crawl") :]
    return scrapy(
        workdir,
        *args,
        settings={**SETTINGS, **settings, "ARCHIVE_URI": uri, "WARC_SPOOL_DIR": workdir / "spool"},
        log_name=f"{crawl_id}.log",
    )


def crawl_files(stored: dict[str, bytes]) -> dict[str, bytes]:
    """The stored objects that belong to crawls: not state/, the incremental state (and its
    lock) that every crawl of the archive shares."""
    return {key: body for key, body in stored.items() if not key.startswith("state/")}


def objects(seaweed: SeaweedFS, prefix: str) -> dict[str, bytes]:
    return stored_objects(seaweed, prefix)


def warc_records(stored: dict[str, bytes], crawl_id: str) -> Counter:
    """(type, target URI, payload digest) of every request and response record."""
    records = Counter()
    for key, body in stored.items():
        if key.startswith(f"warcs/{crawl_id}/"):
            for record in ArchiveIterator(io.BytesIO(body)):
                if record.rec_type in ("request", "response"):
                    headers = record.rec_headers
                    digest = headers.get_header("WARC-Payload-Digest")
                    if record.rec_type == "request":
                        digest = None  # carries the time in no header, but be safe
                    records[(record.rec_type, headers.get_header("WARC-Target-URI"), digest)] += 1
    return records


@pytest.fixture(scope="module")
def seaweed():
    with SeaweedFS() as server:
        yield server


@pytest.fixture(scope="module")
def site():
    return build_site(seed=1)


@pytest.fixture(scope="module")
def portal(site):
    with FixturePortal(site, theme="classic") as served:
        yield served


@pytest.fixture(scope="module")
def served(portal) -> ServedLog:
    """What the portal writes (tests/served.py)."""
    log = ServedLog()
    log.tap(portal)
    return log


@pytest.fixture(scope="module")
def full_crawl(seaweed, portal, served, tmp_path_factory):
    """A crawl into s3:// with the admin keys given as -s settings (the worst place for a
    secret) and DEBUG logging: what it stored, what it printed and logged."""
    workdir = tmp_path_factory.mktemp("s3-crawl")
    prefix = f"{seaweed.prefix}/full"
    start = len(served.answers)
    run = crawl(
        workdir,
        portal,
        f"s3://{seaweed.bucket}/{prefix}/",
        "full-crawl",
        {**s3_settings(seaweed), "LOG_LEVEL": "DEBUG"},
    )
    run.answers = served.since(start)
    return workdir, run, objects(seaweed, prefix)


def test_crawl_to_s3_stores_every_file_and_the_manifest_lists_them(full_crawl, tmp_path):
    workdir, run, stored = full_crawl
    assert run.returncode == 0, run.output[-3000:] + run.log[-3000:]
    manifest = json.loads(stored.pop("crawls/full-crawl/manifest.json"))
    assert manifest["crawl_id"] == "full-crawl"
    assert manifest["finish_reason"] == "finished"
    assert manifest["started_at"] < manifest["finished_at"]
    assert manifest["portal"].startswith("http://127.0.0.1:")
    assert manifest["settings"]["WARC_MAX_SIZE"] == 65536
    stats = manifest["stats"]
    # Every object but the manifest is listed, with its size and sha256; state/ belongs to
    # the archive (the incremental state every crawl updates), not to one crawl.
    assert {"state/articles.jsonl.gz", "state/crawls.json"} <= set(stored)
    stored = crawl_files(stored)
    listed = {entry["key"]: entry for entry in manifest["files"]}
    assert set(listed) == set(stored)
    for key, body in stored.items():
        assert listed[key]["size"] == len(body), key
        assert listed[key]["sha256"] == hashlib.sha256(body).hexdigest(), key
    # The archive root's layout (crawler/layout.py).
    warcs = sorted(k for k in stored if k.startswith("warcs/full-crawl/"))
    indexes = sorted(k for k in stored if k.startswith("indexes/full-crawl/"))
    assert len(warcs) > 3 and stats["archive/files"] == len(warcs)
    assert [k.split("/")[-1].removesuffix(".warc.gz") for k in warcs] == [
        k.split("/")[-1].removesuffix(".cdxj") for k in indexes
    ]
    # Every byte once: no WACZ unless asked for.
    assert set(stored) == {*warcs, *indexes, "items/full-crawl.jsonl.gz"}
    items = gzip.decompress(stored["items/full-crawl.jsonl.gz"]).decode().splitlines()
    assert len(items) == stats["items/accepted"] > 100
    for key in warcs[:2]:
        path = tmp_path / key.split("/")[-1]
        path.write_bytes(stored[key])
        assert_warcio_check(path)
        assert assert_fastwarc_digests(path) > 1
    # The spool kept nothing.
    assert not [p for p in (workdir / "spool").rglob("*") if p.name != ".lock"]


def test_scrapy_wacz_packs_a_crawl_stored_in_s3_and_lists_it(seaweed, full_crawl, tmp_path):
    """The WACZ made on request from the bucket: the crawl's WARCs, page titles without the
    text (not asked for), stored beside the crawl and added to its manifest."""
    workdir, run, before = full_crawl
    assert run.returncode == 0
    prefix = f"{seaweed.prefix}/full"
    packed = run_wacz(
        tmp_path, f"s3://{seaweed.bucket}/{prefix}", "full-crawl", settings=s3_settings(seaweed)
    )
    assert packed.returncode == 0, packed.stdout + packed.stderr
    stored = crawl_files(objects(seaweed, prefix))
    manifest = json.loads(stored.pop("crawls/full-crawl/manifest.json"))
    assert set(stored) == set(crawl_files(before)) - {"crawls/full-crawl/manifest.json"} | {
        "wacz/full-crawl.wacz"
    }
    listed = {entry["key"]: entry for entry in manifest["files"]}
    assert set(listed) == set(stored)
    wacz_bytes = stored["wacz/full-crawl.wacz"]
    assert listed["wacz/full-crawl.wacz"]["sha256"] == hashlib.sha256(wacz_bytes).hexdigest()
    warcs = sorted(k for k in stored if k.startswith("warcs/full-crawl/"))
    with zipfile.ZipFile(io.BytesIO(wacz_bytes)) as wacz:
        assert sorted(n for n in wacz.namelist() if n.startswith("archive/")) == [
            "archive/" + k.split("/")[-1] for k in warcs
        ]
        for key in warcs:
            assert wacz.read("archive/" + key.split("/")[-1]) == stored[key]
        pages = [json.loads(line) for line in wacz.read("pages/pages.jsonl").splitlines()[1:]]
    items = gzip.decompress(stored["items/full-crawl.jsonl.gz"]).decode().splitlines()
    assert len(pages) == len(items) and all(page["title"] for page in pages)
    assert not any(page["text"] for page in pages)


def test_store_outage_mid_crawl_loses_nothing(seaweed, portal, full_crawl, tmp_path):
    """The store goes away mid-crawl: the crawl archives on into the spool, says which files
    it could not store and exits 4; with the store back, `scrapy sync` stores them, and the
    bucket holds the same records as the crawl without an outage."""
    prefix = f"{seaweed.prefix}/outage"
    uri = f"s3://{seaweed.bucket}/{prefix}"
    settings = {
        **s3_settings(seaweed),
        **OUTAGE_SETTINGS,
        # One request at a time, spaced, so that "mid-crawl" lasts long enough to hit.
        "CONCURRENT_REQUESTS": 1,
        "DOWNLOAD_DELAY": 0.01,
    }
    served_before = len(portal.request_log)
    command, env = crawl_command(portal.base_url, tmp_path, crawl_id="outage-crawl")
    args = list(command)
    for name, value in {**SETTINGS, **settings, "ARCHIVE_URI": uri}.items():
        args += ["-s", f"{name}={value}"]
    process = subprocess.Popen(args, cwd=tmp_path, env=env)
    try:
        wait_for(
            lambda: process.poll() is not None or len(portal.request_log) - served_before >= 60,
            "60 requests",
        )
        seaweed.stop()
        returncode = process.wait(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
        seaweed.start()
    log = (tmp_path / "outage-crawl.log").read_text(encoding="utf-8")
    assert returncode == 4, log[-3000:]
    assert "could not be stored" in log
    left = [p.name for p in (tmp_path / "spool" / "outage-crawl").iterdir()]
    assert "manifest.json" in left and any(name.endswith(".warc.gz") for name in left)
    before_sync = objects(seaweed, prefix)
    assert "crawls/outage-crawl/manifest.json" not in before_sync

    sync = scrapy(
        tmp_path,
        "sync",
        settings={**settings, "ARCHIVE_URI": uri, "WARC_SPOOL_DIR": tmp_path / "spool"},
        log_name="sync.log",
    )
    assert sync.returncode == 0, sync.output + sync.log[-3000:]
    assert not (tmp_path / "spool" / "outage-crawl").exists()
    stored = crawl_files(objects(seaweed, prefix))
    manifest = json.loads(stored.pop("crawls/outage-crawl/manifest.json"))
    assert {entry["key"] for entry in manifest["files"]} == set(stored)
    for entry in manifest["files"]:
        assert hashlib.sha256(stored[entry["key"]]).hexdigest() == entry["sha256"]
    assert manifest["stats"]["archive/unstored"] > 0
    assert "stored_later_at" in manifest
    # The same records as the crawl without an outage, and the same items.
    _workdir, _run, reference = full_crawl
    assert warc_records(stored, "outage-crawl") == warc_records(reference, "full-crawl")
    items = gzip.decompress(stored["items/outage-crawl.jsonl.gz"]).decode().splitlines()
    reference_items = gzip.decompress(reference["items/full-crawl.jsonl.gz"]).decode()
    assert len(items) == len(reference_items.splitlines())
    assert "wacz/outage-crawl.wacz" not in stored


def test_an_identity_allowed_only_under_the_prefix_is_enough(seaweed, portal, tmp_path):
    prefix = f"{seaweed.prefix}/writer"
    run = crawl(
        tmp_path,
        portal,
        f"s3://{seaweed.bucket}/{prefix}",
        "writer-crawl",
        s3_settings(seaweed, seaweed.writer),
    )
    assert run.returncode == 0, run.output[-3000:] + run.log[-3000:]
    stored = crawl_files(objects(seaweed, prefix))
    manifest = json.loads(stored.pop("crawls/writer-crawl/manifest.json"))
    assert {entry["key"] for entry in manifest["files"]} == set(stored)


def test_outside_its_prefix_the_identity_is_refused_before_any_fetch(seaweed, portal, tmp_path):
    served_before = len(portal.request_log)
    run = crawl(
        tmp_path,
        portal,
        f"s3://{seaweed.bucket}/elsewhere",
        "refused-crawl",
        s3_settings(seaweed, seaweed.writer),
    )
    assert run.returncode == 3, run.output[-3000:]
    assert "archive store refused" in run.output and "AccessDenied" in run.output
    assert len(portal.request_log) == served_before
    assert seaweed.writer.secret_key not in run.output + run.log


def test_wrong_secret_fails_fast_before_any_fetch(seaweed, portal, tmp_path):
    wrong = Keys(seaweed.admin.access_key, "wrong-secret-" + os.urandom(8).hex())
    served_before = len(portal.request_log)
    run = crawl(
        tmp_path,
        portal,
        f"s3://{seaweed.bucket}/{seaweed.prefix}/wrong",
        "wrong-crawl",
        {**s3_settings(seaweed, wrong), "LOG_LEVEL": "DEBUG"},
    )
    assert run.returncode == 3, run.output[-3000:]
    assert "archive store refused" in run.output
    assert "check the access key" in run.output
    assert run.seconds < 60
    assert len(portal.request_log) == served_before
    assert wrong.secret_key not in run.output + run.log
    assert not objects(seaweed, f"{seaweed.prefix}/wrong")


def test_each_body_stored_in_s3_is_what_the_portal_sent(full_crawl):
    _workdir, run, stored = full_crawl
    warcs = [io.BytesIO(body) for key, body in sorted(stored.items()) if key.startswith("warcs/")]
    kinds = assert_stored_as_sent(response_records(warcs), run.answers)
    assert all(kinds[kind] > 0 for kind in ("gzip", "identity", "chunked")), kinds


def test_no_output_holds_the_secret(seaweed, full_crawl):
    """The keys were given on the command line and the log is at DEBUG: neither the log,
    the printed output, the WARCs, items, indexes, WACZ nor the manifest hold the secret."""
    workdir, run, stored = full_crawl
    assert run.returncode == 0
    secret = seaweed.admin.secret_key.encode()
    texts = {"output": run.output.encode(), "log": run.log.encode()}
    assert b"Overridden settings" in texts["log"]
    for key, body in stored.items():
        texts[key] = body
        if key.endswith(".gz"):
            texts[key + " (decompressed)"] = gzip.decompress(body)
        if key.endswith(".wacz"):
            with zipfile.ZipFile(io.BytesIO(body)) as wacz:
                for name in wacz.namelist():
                    texts[f"{key}/{name}"] = wacz.read(name)
                    if name.endswith(".gz"):
                        texts[f"{key}/{name} (decompressed)"] = gzip.decompress(wacz.read(name))
    for path in workdir.rglob("*"):
        if path.is_file():
            texts[str(path)] = path.read_bytes()
    found = [where for where, text in texts.items() if secret in text]
    assert not found
    assert len(texts) > 40


def test_secret_settings_are_blanked_in_scrapys_settings_log(portal, tmp_path):
    """Scrapy logs the settings that differ from its defaults: the secret is not among them."""
    secret = "never-shown-" + os.urandom(8).hex()
    run = crawl(
        tmp_path,
        portal,
        str(tmp_path / "archive"),
        "local-crawl",
        {"AWS_ACCESS_KEY_ID": "some-key-id", "AWS_SECRET_ACCESS_KEY": secret},
    )
    assert run.returncode == 0, run.output[-3000:] + run.log[-3000:]
    assert "'AWS_SECRET_ACCESS_KEY': '***'" in run.log
    assert secret not in run.output + run.log
    manifest = json.loads((tmp_path / "archive/crawls/local-crawl/manifest.json").read_text())
    assert secret not in json.dumps(manifest)


def test_show_prints_an_archived_page_from_s3(seaweed, full_crawl, tmp_path):
    _workdir, run, stored = full_crawl
    assert run.returncode == 0
    item = json.loads(gzip.decompress(stored["items/full-crawl.jsonl.gz"]).splitlines()[0])
    uri = f"s3://{seaweed.bucket}/{seaweed.prefix}/full"
    settings = {**s3_settings(seaweed), "ARCHIVE_URI": uri}
    shown = scrapy(tmp_path, "show", item["url"], "--decoded", settings=settings, log_name="s.log")
    assert shown.returncode == 0, shown.output[-3000:]
    assert "HTTP/1.1 200" in shown.output
    assert item["title"] in html.unescape(shown.output)
    listed = scrapy(tmp_path, "show", item["url"], "--list", settings=settings, log_name="l.log")
    assert listed.returncode == 0 and "full-crawl" in listed.output
