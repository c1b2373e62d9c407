"""FileStore, open_store's choice by scheme, and a crawl's spool files stored into a file
store the way the crawl stores them (crawler/publishing/storing.py)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from crawler.publishing.spool import CrawlSpool
from crawler.publishing.storing import CrawlStorage
from crawler.storage import (
    FileStore,
    S3Store,
    StorageAccessDenied,
    StorageNotFound,
    StorageVerificationFailed,
    open_store,
)
from tests.helpers import run_unprivileged, storage_config, unprivileged_workdir


def write_random(path: Path, size: int) -> str:
    data = os.urandom(size)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def test_open_store_by_scheme(tmp_path, monkeypatch):
    assert open_store(tmp_path.as_uri()).root == tmp_path
    assert open_store(str(tmp_path)).root == tmp_path
    monkeypatch.chdir(tmp_path)
    assert open_store("archive").root == tmp_path / "archive"
    s3 = open_store("s3://bucket/some/prefix/", storage_config(AWS_REGION_NAME="us-east-1"))
    assert isinstance(s3, S3Store)
    assert (s3.bucket, s3.prefix, s3.uri) == ("bucket", "some/prefix", "s3://bucket/some/prefix")
    s3.close()
    with pytest.raises(ValueError, match="unsupported scheme 'ftp'"):
        open_store("ftp://host/x")
    with pytest.raises(ValueError, match="no bucket"):
        open_store("s3:///prefix")


def test_round_trip(tmp_path):
    store = open_store((tmp_path / "archive").as_uri())
    local = tmp_path / "a.warc.gz"
    sha256 = write_random(local, 5000)
    stored = store.put_file(local, "warcs/c1/a.warc.gz")
    assert (stored.size, stored.sha256) == (5000, sha256)
    assert local.exists()
    assert hashlib.sha256(store.get_bytes("warcs/c1/a.warc.gz")).hexdigest() == sha256
    assert store.get_range("warcs/c1/a.warc.gz", 100, 50) == local.read_bytes()[100:150]
    assert store.get_range("warcs/c1/a.warc.gz", 4990, 50) == local.read_bytes()[4990:]
    store.put_bytes(b"{}", "crawls/c1/manifest.json")
    assert store.list() == ["crawls/c1/manifest.json", "warcs/c1/a.warc.gz"]
    assert store.list("crawls/") == ["crawls/c1/manifest.json"]
    assert store.exists("crawls/c1/manifest.json")
    store.delete("crawls/c1/manifest.json")
    store.delete("crawls/c1/manifest.json")
    assert not store.exists("crawls/c1/manifest.json")
    with pytest.raises(StorageNotFound):
        store.get_bytes("crawls/c1/manifest.json")
    # No temporary files left beside the stored ones.
    assert sorted(p.name for p in (tmp_path / "archive" / "warcs" / "c1").iterdir()) == [
        "a.warc.gz"
    ]


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a//b", "./a"])
def test_bad_keys_refused(tmp_path, key):
    store = FileStore(tmp_path)
    with pytest.raises(ValueError, match="bad archive key"):
        store.put_bytes(b"x", key)


def spool_warc(tmp_path: Path, size: int) -> tuple[CrawlSpool, Path, str]:
    """A crawl's spool holding one closed WARC file of ``size`` random bytes."""
    spool = CrawlSpool(tmp_path / "spool", "c1")
    spool.path.mkdir(parents=True)
    local = spool.path / "a.warc.gz"
    return spool, local, write_random(local, size)


def test_a_spool_file_is_deleted_only_once_stored_and_verified(tmp_path):
    store = FileStore(tmp_path / "archive")
    spool, local, sha256 = spool_warc(tmp_path, 3000)
    storage = CrawlStorage(store, spool.path.parent, "http://portal.test/")
    assert storage.store_files(spool, [(local, "warcs/c1/a.warc.gz")]) == []
    assert local.exists()  # kept until the crawl is complete
    assert storage.complete("c1", {"crawl_id": "c1"}) == []
    assert not spool.path.exists()
    stored_bytes = (tmp_path / "archive" / "warcs" / "c1" / "a.warc.gz").read_bytes()
    assert hashlib.sha256(stored_bytes).hexdigest() == sha256


class ChangingStore(FileStore):
    """A file store that, as it stores a file, sees the file grow (a writer still at it)."""

    def put_file(self, local_path, key):
        stored = super().put_file(local_path, key)
        with open(local_path, "ab") as more:
            more.write(b"a record written meanwhile")
        return stored


def test_a_file_that_changed_while_it_was_stored_is_kept_for_another_try(tmp_path, caplog):
    spool, local, _sha256 = spool_warc(tmp_path, 3000)
    storage = CrawlStorage(ChangingStore(tmp_path / "archive"), spool.path.parent, "x")
    assert storage.store_files(spool, [(local, "warcs/c1/a.warc.gz")]) == [local]
    assert "changed while it was stored" in caplog.text
    assert spool.stored() == {}  # not in the ledger: stored again later, whole
    with pytest.raises(StorageVerificationFailed, match="changed while it was stored"):
        storage._put_unchanged(local, "warcs/c1/a.warc.gz")


def test_unwritable_root_keeps_local_file():
    # Root writes to read-only directories: as root, the check runs as an unprivileged user.
    with unprivileged_workdir() as workdir:
        run_unprivileged(unwritable_root_keeps_local_file, str(workdir))


def unwritable_root_keeps_local_file(workdir: str) -> None:
    assert os.geteuid() != 0, "root would be let through the directory's permissions"
    root = Path(workdir) / "archive"
    root.mkdir()
    root.chmod(0o500)
    try:
        store = FileStore(root)
        local = Path(workdir) / "a.warc.gz"
        write_random(local, 10)
        with pytest.raises(StorageAccessDenied):
            store.check_access()
        with pytest.raises(StorageAccessDenied):
            store.put_file(local, "warcs/a.warc.gz")
        spool = CrawlSpool(Path(workdir) / "spool", "c1")
        storage = CrawlStorage(store, spool.path.parent, "http://portal.test/")
        assert storage.store_files(spool, [(local, "warcs/a.warc.gz")]) == [local]
        assert local.exists()
    finally:
        root.chmod(0o700)


def test_failed_store_keeps_local_file(tmp_path):
    # The archive root is a file: nothing can be stored under it.
    root = tmp_path / "archive"
    root.write_bytes(b"not a directory")
    spool, local, sha256 = spool_warc(tmp_path, 10)
    storage = CrawlStorage(FileStore(root), spool.path.parent, "http://portal.test/")
    assert storage.store_files(spool, [(local, "warcs/c1/a.warc.gz")]) == [local]
    assert storage.complete("c1", {"crawl_id": "c1"}) == [local, spool.manifest_path]
    assert hashlib.sha256(local.read_bytes()).hexdigest() == sha256
