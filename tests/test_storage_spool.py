"""The spool of a crawl and its ledger; CrawlStorage completing a crawl into a file store
(the S3 side is exercised by whole crawls in test_storage_crawl.py)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from crawler.publishing.spool import CrawlSpool
from crawler.publishing.storing import CrawlStorage
from crawler.storage import FileStore, StoredObject


def write(path: Path, size: int) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Deterministic bytes that are no WARC: random ones sometimes parse as an ARC record.
    data = (f"not a WARC record: {path.name}\n".encode() * size)[:size]
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def test_spool_files_map_to_archive_keys(tmp_path):
    spool = CrawlSpool(tmp_path, "c1")
    for name in ("a.warc.gz", "a.cdxj", "c1.wacz", "items.jsonl.gz", "pages.jsonl",
                 "b.warc.gz.open", ".a.cdxj.123.tmp", "stored.jsonl", "manifest.json"):  # fmt: skip
        write(spool.path / name, 10)
    assert [key for _path, key in spool.storable()] == [
        "indexes/c1/a.cdxj",
        "warcs/c1/a.warc.gz",
        "wacz/c1.wacz",
        "items/c1.jsonl.gz",
    ]


def test_the_ledger_decides_what_is_pending(tmp_path):
    spool = CrawlSpool(tmp_path, "c1")
    write(spool.path / "a.warc.gz", 100)
    write(spool.path / "b.warc.gz", 100)
    spool.record(StoredObject("warcs/c1/a.warc.gz", 100, "x" * 64))
    # A size that differs from the file's is no proof it was stored.
    spool.record(StoredObject("warcs/c1/b.warc.gz", 99, "y" * 64))
    assert [key for _path, key in spool.pending()] == ["warcs/c1/b.warc.gz"]
    # A line torn by a crash does not count.
    with open(spool.ledger_path, "a", encoding="utf-8") as ledger:
        ledger.write('{"key": "warcs/c1/b.warc.gz", "size": 100, "sha')
    assert set(CrawlSpool(tmp_path, "c1").stored()) == {"warcs/c1/a.warc.gz", "warcs/c1/b.warc.gz"}
    assert spool.remove() == [spool.path / "b.warc.gz"]
    assert not (spool.path / "a.warc.gz").exists()


def test_complete_stores_everything_then_the_manifest_then_empties_the_spool(tmp_path):
    store = FileStore(tmp_path / "archive")
    storage = CrawlStorage(store, tmp_path / "spool", "http://portal/")
    spool = storage.spool("c1")
    digests = {
        "warcs/c1/a.warc.gz": write(spool.path / "a.warc.gz", 1000),
        "items/c1.jsonl.gz": write(spool.path / "items.jsonl.gz", 300),
    }
    write(spool.path / "pages.jsonl", 10)
    assert storage.complete("c1", {"crawl_id": "c1", "stats": {"x": 1}}) == []
    manifest = json.loads((tmp_path / "archive/crawls/c1/manifest.json").read_text())
    assert manifest["stats"] == {"x": 1}
    assert {f["key"]: f["sha256"] for f in manifest["files"]} == digests
    for key, sha256 in digests.items():
        assert hashlib.sha256((tmp_path / "archive" / key).read_bytes()).hexdigest() == sha256
    assert not spool.path.exists()


def test_a_store_that_fails_leaves_files_and_manifest_in_the_spool(tmp_path):
    # The store's directory cannot be made: a file stands where it should be.
    blocker = tmp_path / "mount"
    blocker.write_text("not a directory")
    root = blocker / "archive"
    storage = CrawlStorage(FileStore(root), tmp_path / "spool", "http://portal/", pack_wacz=True)
    spool = storage.spool("c1")
    write(spool.path / "a.warc.gz", 1000)
    write(spool.path / "b.warc.gz", 1000)
    left = storage.complete("c1", {"crawl_id": "c1"})
    assert left == [spool.path / "a.warc.gz", spool.path / "b.warc.gz", spool.manifest_path]
    assert json.loads(spool.manifest_path.read_text())["files"] == []
    # The store is back: a sync stores the files, then the manifest kept in the spool.
    blocker.unlink()
    assert storage.sync_crawl("c1") == []
    manifest = json.loads((root / "crawls/c1/manifest.json").read_text())
    assert manifest["crawl_id"] == "c1" and "stored_later_at" in manifest
    # Random bytes are no WARC to index (logged), but the files are stored and packed.
    assert [f["key"] for f in manifest["files"]] == [
        "wacz/c1.wacz",
        "warcs/c1/a.warc.gz",
        "warcs/c1/b.warc.gz",
    ]
    assert not spool.path.exists()


def test_sync_of_a_crawl_that_left_no_manifest_says_so(tmp_path):
    storage = CrawlStorage(FileStore(tmp_path / "archive"), tmp_path / "spool", "http://portal/")
    write(storage.spool("dead").path / "items.jsonl.gz", 50)
    assert storage.sync_crawl("dead") == []
    manifest = json.loads((tmp_path / "archive/crawls/dead/manifest.json").read_text())
    assert manifest["finish_reason"] == "unfinished: recovered from the spool"
    assert [f["key"] for f in manifest["files"]] == ["items/dead.jsonl.gz"]
