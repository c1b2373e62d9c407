"""S3Store against a real SeaweedFS: round trips, multipart, checksums,
credentials, a restricted identity and an outage."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path

import pytest

from crawler.publishing.spool import CrawlSpool
from crawler.publishing.storing import CrawlStorage
from crawler.storage import (
    S3Store,
    StorageAccessDenied,
    StorageUnavailable,
    open_store,
)
from tests.seaweedfs import Keys, SeaweedFS, s3_config

MB = 1024 * 1024


@pytest.fixture(scope="module")
def seaweed():
    with SeaweedFS() as server:
        yield server


def make_store(seaweed: SeaweedFS, keys: Keys | None = None, path: str = "", **tuning) -> S3Store:
    keys = keys or seaweed.admin
    config = s3_config(seaweed, keys, **tuning)
    uri = f"s3://{seaweed.bucket}/{seaweed.prefix}/{path}".rstrip("/")
    return open_store(uri, config)


@pytest.fixture
def store(seaweed, request):
    store = make_store(seaweed, path=request.node.name)
    yield store
    store.close()


def write_random(path: Path, size: int) -> str:
    data = os.urandom(size)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def test_round_trip(store, tmp_path):
    local = tmp_path / "a.warc.gz"
    sha256 = write_random(local, 4096)
    stored = store.put_file(local, "warcs/c1/a.warc.gz")
    assert (stored.key, stored.size, stored.sha256) == ("warcs/c1/a.warc.gz", 4096, sha256)
    assert hashlib.sha256(store.get_bytes("warcs/c1/a.warc.gz")).hexdigest() == sha256
    assert store.get_range("warcs/c1/a.warc.gz", 100, 50) == local.read_bytes()[100:150]
    assert store.get_range("warcs/c1/a.warc.gz", 4090, 50) == local.read_bytes()[4090:]
    assert store.put_bytes(b"{}", "crawls/c1/manifest.json").size == 2
    assert store.get_bytes("crawls/c1/manifest.json") == b"{}"
    assert store.list() == ["crawls/c1/manifest.json", "warcs/c1/a.warc.gz"]
    assert store.list("warcs/") == ["warcs/c1/a.warc.gz"]
    assert store.exists("warcs/c1/a.warc.gz")
    store.delete("warcs/c1/a.warc.gz")
    assert not store.exists("warcs/c1/a.warc.gz")
    assert store.list() == ["crawls/c1/manifest.json"]
    # The keys are under the URI's prefix, as another client sees them.
    client = store._client
    listed = client.list_objects_v2(Bucket=store.bucket, Prefix=store.prefix + "/")
    assert [item["Key"] for item in listed["Contents"]] == [
        f"{store.prefix}/crawls/c1/manifest.json"
    ]


def test_multipart_upload_verified(seaweed, tmp_path, request):
    store = make_store(
        seaweed,
        path=request.node.name,
        ARCHIVE_S3_MULTIPART_THRESHOLD=5 * MB,
        ARCHIVE_S3_MULTIPART_CHUNKSIZE=5 * MB,
    )
    local = tmp_path / "big.warc.gz"
    sha256 = write_random(local, 12 * MB)
    stored = store.put_file(local, "warcs/big.warc.gz")
    assert (stored.size, stored.sha256) == (12 * MB, sha256)
    head = store._client.head_object(
        Bucket=store.bucket, Key=f"{store.prefix}/warcs/big.warc.gz", ChecksumMode="ENABLED"
    )
    # Three parts, each checked by the store against its SHA-256.
    assert head["ETag"].strip('"').endswith("-3")
    assert head["ChecksumSHA256"].endswith("-3")
    assert hashlib.sha256(store.get_bytes("warcs/big.warc.gz")).hexdigest() == sha256
    store.close()


def test_store_rejects_bytes_that_do_not_match_their_checksum(store):
    """What put_file relies on: the store checks the SHA-256 it is sent."""
    with pytest.raises(Exception, match="BadDigest"):
        store._client.put_object(
            Bucket=store.bucket,
            Key=f"{store.prefix}/bad",
            Body=b"these bytes",
            ChecksumSHA256="47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",  # sha256 of b""
        )
    assert not store.exists("bad")


def test_a_spool_file_is_deleted_only_once_stored(store, tmp_path):
    spool = CrawlSpool(tmp_path / "spool", "c1")
    spool.path.mkdir(parents=True)
    local = spool.path / "x.warc.gz"
    sha256 = write_random(local, 1000)
    storage = CrawlStorage(store, spool.path.parent, "http://portal.test/")
    assert storage.complete("c1", {"crawl_id": "c1"}) == []
    assert not local.exists()
    assert hashlib.sha256(store.get_bytes("warcs/c1/x.warc.gz")).hexdigest() == sha256


def test_wrong_secret_is_refused_fast_and_never_shown(seaweed, tmp_path, caplog):
    wrong = Keys(seaweed.admin.access_key, "wrong-secret-" + os.urandom(8).hex())
    store = make_store(seaweed, keys=wrong)
    local = tmp_path / "a.warc.gz"
    write_random(local, 100)
    caplog.set_level(logging.DEBUG)
    started = time.monotonic()
    with pytest.raises(StorageAccessDenied) as denied:
        store.check_access()
    with pytest.raises(StorageAccessDenied) as denied_upload:
        store.put_file(local, "warcs/a.warc.gz")
    assert time.monotonic() - started < 10
    assert local.exists()
    for error in (denied.value, denied_upload.value):
        text = f"{error}\n{error!r}"
        assert wrong.secret_key not in text
        assert "SignatureDoesNotMatch" in text or "AccessDenied" in text, text
    assert wrong.secret_key not in caplog.text
    assert wrong.secret_key not in repr(store.config)
    store.close()


def test_missing_bucket_is_a_clear_error(seaweed):
    config = s3_config(seaweed)
    store = open_store("s3://no-such-bucket/x", config)
    with pytest.raises(Exception, match="NoSuchBucket") as missing:
        store.check_access()
    assert seaweed.admin.secret_key not in str(missing.value)
    store.close()


def test_restricted_identity_writes_only_under_its_prefix(seaweed, tmp_path, request):
    store = make_store(seaweed, keys=seaweed.writer, path=request.node.name)
    store.check_access()
    local = tmp_path / "a.warc.gz"
    sha256 = write_random(local, 2000)
    assert store.put_file(local, "warcs/a.warc.gz").sha256 == sha256
    assert store.list() == ["warcs/a.warc.gz"]
    store.close()

    outside = open_store(f"s3://{seaweed.bucket}/elsewhere", store.config)
    with pytest.raises(StorageAccessDenied) as denied:
        outside.check_access()
    assert seaweed.writer.secret_key not in str(denied.value)
    write_random(local, 2000)
    with pytest.raises(StorageAccessDenied):
        outside.put_file(local, "warcs/a.warc.gz")
    assert local.exists()
    outside.close()


def test_outage_keeps_local_file_then_upload_succeeds(seaweed, tmp_path, request):
    store = make_store(
        seaweed,
        path=request.node.name,
        ARCHIVE_S3_MAX_ATTEMPTS=2,
        ARCHIVE_S3_CONNECT_TIMEOUT=1.0,
        ARCHIVE_S3_READ_TIMEOUT=5.0,
    )
    local = tmp_path / "a.warc.gz"
    sha256 = write_random(local, 50_000)
    store.put_bytes(b"before the outage", "state/kept.json")
    seaweed.stop()
    try:
        started = time.monotonic()
        with pytest.raises(StorageUnavailable) as unavailable:
            store.put_file(local, "warcs/a.warc.gz")
        assert time.monotonic() - started < 15
        assert seaweed.admin.secret_key not in str(unavailable.value)
        assert local.exists()
    finally:
        seaweed.start()
    # Same ports, same data: what was stored before is still there.
    assert store.get_bytes("state/kept.json") == b"before the outage"
    stored = store.put_file(local, "warcs/a.warc.gz")
    assert stored.sha256 == sha256
    assert hashlib.sha256(store.get_bytes("warcs/a.warc.gz")).hexdigest() == sha256
    store.close()
