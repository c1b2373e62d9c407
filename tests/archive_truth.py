"""What an archive root must be whatever happened to the crawls that wrote it: every manifest
lists exactly what is stored, every stored items file is whole and points at its records,
and the incremental state claims no article the archive does not hold with its item."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator


def stored_items(archive: Path, crawl_id: str) -> list[dict]:
    """The crawl's stored items; fails if the file is not a whole gzip stream."""
    path = archive / "items" / f"{crawl_id}.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def record_at(archive: Path, crawl_id: str, pointer: dict):
    """(type, WARC-Record-ID, target URI) of the record a pointer names."""
    path = archive / "warcs" / crawl_id / pointer["filename"]
    with open(path, "rb") as stream:
        stream.seek(pointer["offset"])
        member = stream.read(pointer["length"])
    record = next(iter(ArchiveIterator(io.BytesIO(member))))
    headers = record.rec_headers
    return (
        record.rec_type,
        headers.get_header("WARC-Record-ID"),
        headers.get_header("WARC-Target-URI"),
    )


def assert_crawl_true(archive: Path, crawl_id: str) -> dict:
    """The crawl's manifest lists exactly its stored files (size and sha256), its items file
    is whole and every item points at its response record. Returns the manifest."""
    manifest = json.loads((archive / "crawls" / crawl_id / "manifest.json").read_text())
    listed = {entry["key"]: entry for entry in manifest["files"]}
    present = {
        path.relative_to(archive).as_posix()
        for pattern in (
            f"warcs/{crawl_id}/*",
            f"indexes/{crawl_id}/*",
            f"items/{crawl_id}.jsonl.gz",
            f"wacz/{crawl_id}.wacz",
        )
        for path in archive.glob(pattern)
    }
    assert set(listed) == present, (sorted(listed), sorted(present))
    for key, entry in listed.items():
        data = (archive / key).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (entry["size"], entry["sha256"])
    if f"items/{crawl_id}.jsonl.gz" in listed:
        for item in stored_items(archive, crawl_id):
            kind, record_id, uri = record_at(archive, crawl_id, item["warc"])
            assert kind in ("response", "revisit"), item["url"]
            assert record_id == item["warc"]["record_id"], item["url"]
    return manifest


def assert_state_true(archive: Path) -> dict[str, dict]:
    """Every article the incremental state knows is in the archive: its capture is a stored
    record, and a stored items file holds an item of it with that capture. Returns the
    known articles by URL."""
    lines = gzip.decompress((archive / "state" / "articles.jsonl.gz").read_bytes()).splitlines()
    known = {article["url"]: article for article in map(json.loads, lines)}
    items: dict[tuple[str, str], dict] = {}
    for path in (archive / "items").glob("*.jsonl.gz"):
        crawl_id = path.name.removesuffix(".jsonl.gz")
        for item in stored_items(archive, crawl_id):
            items[(item["url"], item["warc"]["record_id"])] = item
    for url, article in known.items():
        capture = article["capture"]
        kind, record_id, uri = record_at(archive, capture["crawl_id"], capture)
        assert record_id == capture["record_id"] and uri == url, url
        # The version's item (a later capture of the same payload may be a revisit).
        assert any(key[0] == url for key in items), f"no stored item for known article {url}"
    return known


def all_items(archive: Path) -> dict[str, dict]:
    """Every stored item of every crawl, by article URL (the last crawl's wins)."""
    found = {}
    for path in sorted((archive / "items").glob("*.jsonl.gz")):
        for item in stored_items(archive, path.name.removesuffix(".jsonl.gz")):
            found[item["url"]] = item
    return found
