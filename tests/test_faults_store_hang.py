"""An S3 store that accepts connections but never answers: every operation fails in
seconds, the crawl's start and end stay inside the termination grace period, nothing is
lost, and the next run (or ``scrapy sync``) stores what was kept.

The store is a real SeaweedFS stopped with SIGSTOP: the kernel still accepts connections
into its backlog, nobody answers. The crawl that meets the hang at its end runs with the
default timeouts and attempts (settings/default.py): the deadline given to it is the grace
period docs/storage.md and deploy/k8s state, a bound and not a benchmark. The crawl that meets
it from its start (where the same code is crossed) runs with shorter timeouts, to keep the
suite short.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from crawler.publishing.spool import CrawlSpool
from crawler.publishing.storing import CrawlStorage
from crawler.storage import S3Store, StorageUnavailable
from fixture_portal import FixturePortal, build_site
from tests.crawl import REPO, assert_no_warning_raised, crawl_command, scrapy_env
from tests.helpers import storage_config, wait_for
from tests.holding_proxy import HoldingProxy
from tests.seaweedfs import SeaweedFS, s3_settings, stored_objects

# The grace period deploy/k8s gives a crawl between SIGTERM and SIGKILL.
GRACE = yaml.safe_load((REPO / "deploy/k8s/cronjob.yaml").read_text())["spec"]["jobTemplate"][
    "spec"
]["template"]["spec"]["terminationGracePeriodSeconds"]
SETTINGS = {
    "BROWSER_ENABLED": False,
    "PORTAL_MAX_LISTING_PAGES": 2,
    # Small files: several are stored (or fail to be) while the crawl runs.
    "WARC_MAX_SIZE": 256 * 1024,
    "ARCHIVE_S3_ADDRESSING_STYLE": "path",
}


# -- one store operation ---------------------------------------------------------------


class SilentServer:
    """A TCP port that accepts connections (the kernel's backlog) and never answers;
    ``connections()`` says how many were made."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.socket.setblocking(False)

    def connections(self) -> int:
        count = 0
        while True:
            try:
                conn, _ = self.socket.accept()
            except BlockingIOError:
                return count
            conn.close()
            count += 1

    def close(self) -> None:
        self.socket.close()


def test_a_timeout_counts_as_unreachable_and_the_next_operations_try_once(tmp_path):
    server = SilentServer()
    config = storage_config(
        AWS_ACCESS_KEY_ID="key",
        AWS_SECRET_ACCESS_KEY="secret",
        AWS_ENDPOINT_URL=server.url,
        AWS_REGION_NAME="us-east-1",
        ARCHIVE_S3_ADDRESSING_STYLE="path",
        ARCHIVE_S3_MAX_ATTEMPTS=3,
        ARCHIVE_S3_READ_TIMEOUT=0.5,
    )
    store = S3Store("archive", "crawls", config)
    spool = CrawlSpool(tmp_path, "hung")
    spool.path.mkdir()
    files = []
    for name in ("a.warc.gz", "a.cdxj", "items.jsonl.gz"):
        (spool.path / name).write_bytes(b"x" * 100)
        files.append((spool.path / name, spool.key_of(spool.path / name)))
    counts = Counter()

    def count(key: str, n: int = 1) -> None:
        counts[key] += n

    storage = CrawlStorage(store, tmp_path, "http://portal.example/", count)
    try:
        # Three attempts for the first file, then no more tries for the others.
        assert storage.store_files(spool, files) == [path for path, _key in files]
        assert server.connections() == 3
        assert counts["archive/upload/failed"] == 1
        # The store did not answer: one attempt per operation from now on.
        with pytest.raises(StorageUnavailable, match="store unreachable"):
            store.get_bytes("state/lock.json")
        assert server.connections() == 1
        assert storage.store_files(spool, files[1:]) == [path for path, _key in files[1:]]
        assert server.connections() == 1
    finally:
        store.close()
        server.close()


# -- whole crawls ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def seaweed():
    with SeaweedFS() as server:
        yield server


@pytest.fixture(scope="module")
def portal():
    with FixturePortal(build_site(seed=1), theme="classic") as served:
        yield served


@pytest.fixture
def hang(seaweed):
    """``hang()`` stops the server's processes (SIGSTOP); they go on at the end."""
    stopped = []

    def stop():
        os.killpg(seaweed.pid, signal.SIGSTOP)
        stopped.append(True)

    def resume():
        if stopped:
            os.killpg(seaweed.pid, signal.SIGCONT)
            stopped.clear()

    stop.resume = resume
    yield stop
    resume()


def start(portal, seaweed, workdir: Path, crawl_id: str, prefix: str, **settings):
    workdir.mkdir(parents=True, exist_ok=True)
    command, env = crawl_command(
        portal.base_url,
        workdir,
        crawl_id=crawl_id,
        settings={
            **SETTINGS,
            **s3_settings(seaweed),
            "ARCHIVE_URI": f"s3://{seaweed.bucket}/{prefix}",
            **settings,
        },
    )
    return subprocess.Popen(command, cwd=workdir, env=env)


def sync(seaweed, workdir: Path, prefix: str, **extra) -> subprocess.CompletedProcess:
    settings = {**s3_settings(seaweed), "ARCHIVE_URI": f"s3://{seaweed.bucket}/{prefix}"}
    settings["ARCHIVE_S3_ADDRESSING_STYLE"] = "path"
    settings.update(extra)
    command = [sys.executable, "-m", "scrapy", "sync"]
    for name, value in {**settings, "LOG_FILE": workdir / "sync.log"}.items():
        command += ["-s", f"{name}={value}"]
    done = subprocess.run(
        command, cwd=workdir, env=scrapy_env(), capture_output=True, text=True, timeout=GRACE
    )
    log = workdir / "sync.log"
    assert_no_warning_raised(done.stdout + done.stderr + (log.read_text() if log.exists() else ""))
    return done


def spool_files(workdir: Path, crawl_id: str) -> set[str]:
    return {path.name for path in (workdir / "spool" / crawl_id).iterdir()}


def assert_manifest_true(seaweed, prefix: str, crawl_id: str) -> dict:
    """The stored manifest lists every stored file of the crawl, with its size."""
    objects = stored_objects(seaweed, prefix)
    manifest = json.loads(objects[f"crawls/{crawl_id}/manifest.json"])
    listed = {entry["key"]: entry["size"] for entry in manifest["files"]}
    stored = {
        key: len(body)
        for key, body in objects.items()
        if key.startswith(("warcs/", "indexes/", "items/", "wacz/")) and crawl_id in key
    }
    assert listed == stored
    assert any(key.startswith(f"warcs/{crawl_id}/") for key in listed)
    assert f"items/{crawl_id}.jsonl.gz" in listed
    return manifest


def test_a_store_hung_from_the_start_keeps_everything_in_the_spool(seaweed, portal, hang, tmp_path):
    prefix = f"{seaweed.prefix}/hung-start"
    hang()
    served = len(portal.request_log)
    crawl = start(
        portal,
        seaweed,
        tmp_path,
        "hung-start",
        prefix,
        ARCHIVE_S3_CONNECT_TIMEOUT=1,
        ARCHIVE_S3_READ_TIMEOUT=2,
    )
    # Start (probe, state lock), crawl, end (files, manifest) within the grace period.
    assert crawl.wait(timeout=GRACE) == 4
    assert len(portal.request_log) > served
    log = (tmp_path / "hung-start.log").read_text(encoding="utf-8")
    assert "unreachable" in log and "one attempt per operation" in log
    assert "incremental state unreadable" in log
    kept = spool_files(tmp_path, "hung-start")
    assert {"items.jsonl.gz", "manifest.json"} <= kept
    assert "hung-start.wacz" not in kept  # no WACZ unless asked for
    assert any(name.endswith(".warc.gz") for name in kept)
    # A sync while the store still hangs stores nothing, says so, in bounded time.
    still = sync(seaweed, tmp_path, prefix, ARCHIVE_S3_CONNECT_TIMEOUT=1, ARCHIVE_S3_READ_TIMEOUT=2)
    assert still.returncode == 4, still.stderr[-3000:]
    assert "unreachable; nothing stored" in still.stderr
    hang.resume()
    # Requests that timed out may still be carried out once the server runs again (the
    # kernel kept them): never the manifest, which is sent only after the files are stored.
    assert "crawls/hung-start/manifest.json" not in stored_objects(seaweed, prefix)
    done = sync(seaweed, tmp_path, prefix)
    assert done.returncode == 0, done.stderr[-3000:]
    manifest = assert_manifest_true(seaweed, prefix, "hung-start")
    assert manifest["stats"]["archive/unstored"] >= 1
    assert not (tmp_path / "spool" / "hung-start").exists()


def test_a_store_that_hangs_mid_crawl_ends_it_within_the_grace_period(
    seaweed, portal, hang, tmp_path
):
    """The store answered at the start (probe, state lock, state read), then hangs: the
    crawl's end (files, state, manifest, lock release) fails fast; the next run stores
    what was kept and takes the lock over at once."""
    prefix = f"{seaweed.prefix}/hung-end"
    served = len(portal.request_log)
    crawl = start(
        portal, seaweed, tmp_path, "hung-end", prefix, CONCURRENT_REQUESTS=1, DOWNLOAD_DELAY=0.02
    )
    try:
        wait_for(lambda: len(portal.request_log) >= served + 40, "the crawl to get going")
        assert crawl.poll() is None
        hang()
        assert crawl.wait(timeout=GRACE) == 4
    finally:
        crawl.kill()
    log = (tmp_path / "hung-end.log").read_text(encoding="utf-8")
    assert "incremental state not saved" in log
    assert "state lock of" in log and "not released" in log
    kept = spool_files(tmp_path, "hung-end")
    assert {"items.jsonl.gz", "manifest.json"} <= kept
    hang.resume()

    after = start(portal, seaweed, tmp_path, "after-hang", prefix)
    assert after.wait(timeout=GRACE) == 0
    log = (tmp_path / "after-hang.log").read_text(encoding="utf-8")
    assert "taking over the state lock of crawl hung-end" in log
    assert "watching it" not in log
    assert not (tmp_path / "spool" / "hung-end").exists()
    manifest = assert_manifest_true(seaweed, prefix, "hung-end")
    assert manifest["stats"]["incremental/state_not_saved"] == 1
    state = json.loads(stored_objects(seaweed, f"{prefix}/state")["crawls.json"])
    assert [crawl["crawl_id"] for crawl in state["crawls"]] == ["after-hang"]


def test_a_crawl_stopped_while_it_stores_its_manifest_does_not_claim_it(seaweed, portal, tmp_path):
    """A shutdown signal while the manifest is on its way (the store slow to answer it) stops
    the reactor in the crawl's end: the crawl used to exit 0 there. It says it stopped (6);
    what it wrote is stored or kept, and ``scrapy sync`` completes it."""
    prefix = f"{seaweed.prefix}/stopped-end"
    held = f"PUT /{seaweed.bucket}/{prefix}/crawls/stopped-end/manifest.json "
    with HoldingProxy(seaweed.endpoint_url, hold=held.encode()) as proxy:
        crawl = start(
            portal, seaweed, tmp_path, "stopped-end", prefix, AWS_ENDPOINT_URL=proxy.url,
            ARCHIVE_S3_READ_TIMEOUT=2,
        )  # fmt: skip
        try:
            wait_for(proxy.held.is_set, f"the crawl asking {held}", deadline=GRACE)
            crawl.send_signal(signal.SIGTERM)
            assert crawl.wait(timeout=GRACE) == 6
        finally:
            crawl.kill()
    log = (tmp_path / "stopped-end.log").read_text(encoding="utf-8")
    assert "its end did not run to its close" in log
    done = sync(seaweed, tmp_path, prefix)
    assert done.returncode == 0, done.stderr[-3000:]
    assert_manifest_true(seaweed, prefix, "stopped-end")
    assert not (tmp_path / "spool" / "stopped-end").exists()
