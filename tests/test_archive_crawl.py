"""The WARCs of a whole crawl of the fixture portal, read back by two readers."""

from __future__ import annotations

import gzip
import json
import zipfile
from collections import Counter
from io import BytesIO
from urllib.parse import urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator

from fixture_portal import transport
from tests.archive_truth import assert_crawl_true
from tests.served import assert_stored_as_sent, response_records
from tests.test_archive_records import assert_fastwarc_digests, assert_warcio_check
from tests.test_archive_wacz import wacz_validate


def warc_files(crawled) -> list:
    return sorted((crawled.result.archive / "warcs" / crawled.result.crawl_id).glob("*.warc.gz"))


@pytest.fixture(scope="module")
def records(crawled) -> list[dict]:
    """Every record of the crawl: type, headers, HTTP head and stored payload."""
    found = []
    for path in warc_files(crawled):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                found.append(
                    {
                        "file": path.name,
                        "type": record.rec_type,
                        "warc": record.rec_headers,
                        "http": record.http_headers,
                        "payload": record.raw_stream.read(),
                    }
                )
    return found


def responses(records, path: str | None = None) -> list[dict]:
    return [
        r
        for r in records
        if r["type"] == "response"
        and (path is None or urlsplit(r["warc"].get_header("WARC-Target-URI")).path == path)
    ]


def test_every_file_passes_warcio_check_and_fastwarc_digests(crawled):
    files = warc_files(crawled)
    assert len(files) > 1, "the crawl should have rotated at WARC_MAX_SIZE"
    serials = [name.name.split("-")[2] for name in files]
    assert serials == [f"{n:05d}" for n in range(len(files))]
    for path in files:
        assert_warcio_check(path)
        assert assert_fastwarc_digests(path) > 1
    assert not list((crawled.result.archive.parent / "spool").rglob("*.warc.gz*"))


def test_each_file_starts_with_warcinfo(crawled, records):
    firsts = {}
    for record in records:
        firsts.setdefault(record["file"], record)
    assert {r["type"] for r in firsts.values()} == {"warcinfo"}
    info = next(iter(firsts.values()))["payload"].decode()
    assert f"isPartOf: {crawled.result.crawl_id}" in info
    assert "robots: obey" in info


def test_every_exchange_the_server_saw_is_archived(crawled, records):
    served = Counter(path for _method, path, _headers in crawled.requests)
    archived = Counter()
    for record in responses(records):
        parts = urlsplit(record["warc"].get_header("WARC-Target-URI"))
        archived[parts.path + (f"?{parts.query}" if parts.query else "")] += 1
    assert archived == served


def test_request_and_response_are_linked(crawled, records):
    response_ids = {r["warc"].get_header("WARC-Record-ID") for r in responses(records)}
    requests = [r for r in records if r["type"] == "request"]
    assert len(requests) == len(response_ids)
    assert {r["warc"].get_header("WARC-Concurrent-To") for r in requests} == response_ids
    for request in requests:
        # warcio splits a request line into "protocol" (the method) and "statusline".
        line = f"{request['http'].protocol} {request['http'].statusline}"
        assert line.startswith("GET /") and line.endswith("HTTP/1.1"), line
        names = [name.lower() for name, _ in request["http"].headers]
        assert "host" in names and "user-agent" in names
    assert all(r["warc"].get_header("WARC-IP-Address") == "127.0.0.1" for r in responses(records))
    # Every head came from the wire capture, none had to be rebuilt.
    assert "archive/heads_rebuilt" not in crawled.result.stats


def test_each_archived_body_is_what_the_portal_sent(crawled):
    """Byte for byte: as sent (gzipped if it went so, de-chunked) by the crawl's own fetches,
    content-decoded (and saying so) when the browser fetched it."""
    kinds = assert_stored_as_sent(response_records(warc_files(crawled)), crawled.served.since(0))
    # Every way a body can be stored was met.
    assert all(kinds[kind] > 0 for kind in ("gzip", "identity", "decoded", "chunked")), kinds


def test_bodies_are_stored_as_received(crawled, records):
    article = urlsplit(next(iter(crawled.expected))).path
    gzipped = [r for r in responses(records) if r["http"].get_header("Content-Encoding") == "gzip"]
    assert gzipped
    for record in gzipped:
        assert record["payload"][:2] == b"\x1f\x8b"
        assert gzip.decompress(record["payload"])
    chunked = [r for r in responses(records) if transport.is_chunked(_path(r))]
    assert chunked
    for record in chunked:
        assert record["http"].get_header("X-Orig-Transfer-Encoding") == "chunked"
        assert record["http"].get_header("Transfer-Encoding") is None
        assert int(record["http"].get_header("Content-Length")) == len(record["payload"])
    page = responses(records, article)[0]["http"]
    assert page.protocol == "HTTP/1.1" and page.statusline == "200 OK"
    assert len([v for n, v in page.headers if n.lower() == "set-cookie"]) == 2
    assert len([v for n, v in page.headers if n.lower() == "link"]) == 2


def test_article_images_are_fetched_and_archived(crawled, records):
    images = [r for r in responses(records) if r["http"].get_header("Content-Type") == "image/jpeg"]
    stats = crawled.result.stats
    # Fetched by the spider, and loaded by the browser in rendered pages.
    by_browser = stats["playwright/response_count/resource_type/image"]
    assert len(images) == stats["images/fetched"] + by_browser
    assert stats["images/fetched"] > 0 and by_browser > 0
    assert all(record["payload"][:2] == b"\xff\xd8" for record in images)


def test_robots_redirects_and_errors_are_archived(crawled, records):
    statuses = Counter(r["http"].statusline for r in responses(records))
    assert statuses["301 Moved Permanently"] >= 3
    assert statuses["404 Not Found"] >= 1
    assert statuses["500 Internal Server Error"] == 3  # first try and two retries
    assert responses(records, "/robots.txt")


def test_item_pointers_resolve_to_their_response_record(crawled):
    for item in crawled.result.items:
        pointer = item["warc"]
        path = crawled.result.archive / "warcs" / crawled.result.crawl_id / pointer["filename"]
        with open(path, "rb") as fh:
            fh.seek(pointer["offset"])
            data = fh.read(pointer["length"])
        record = next(ArchiveIterator(BytesIO(data)))
        assert record.rec_type == "response"
        assert record.rec_headers.get_header("WARC-Record-ID") == pointer["record_id"]
        target = record.rec_headers.get_header("WARC-Target-URI")
        assert urlsplit(target).path == urlsplit(item["url"]).path


def test_pages_have_metadata_records(crawled, records):
    metadata = [r for r in records if r["type"] == "metadata"]
    assert len(metadata) >= len(crawled.expected)
    response_ids = {r["warc"].get_header("WARC-Record-ID") for r in responses(records)}
    for record in metadata:
        assert record["warc"].get_header("WARC-Concurrent-To") in response_ids
    text = "\n".join(r["payload"].decode() for r in metadata)
    assert "via: " in text and "outlink: " in text and "fetchedBy: http" in text


def _path(record) -> str:
    return urlsplit(record["warc"].get_header("WARC-Target-URI")).path


def test_each_warc_has_its_cdxj_index_and_the_command_packs_its_wacz(crawled):
    root, crawl_id = crawled.result.archive, crawled.result.crawl_id
    indexes = sorted((root / "indexes" / crawl_id).glob("*.cdxj"))
    assert [p.stem for p in indexes] == [
        p.name.removesuffix(".warc.gz") for p in warc_files(crawled)
    ]
    lines = [
        line
        for path in indexes
        for line in path.read_text().splitlines()
        if not line.startswith("urn:")  # rendered DOMs (resource records)
    ]
    # One line per response record: one per exchange the server saw.
    assert len(lines) == len(crawled.requests)
    # Every byte once: the crawl stored no WACZ; `scrapy wacz --text` (tests/conftest.py)
    # packed it from the stored crawl and listed it in the manifest.
    assert not any(key.startswith("wacz/") for key in crawled.stored_by_crawl)
    assert f"wacz/{crawl_id}.wacz" in {entry["key"] for entry in crawled.result.manifest["files"]}
    assert_crawl_true(root, crawl_id)
    wacz = root / "wacz" / f"{crawl_id}.wacz"
    result = wacz_validate(wacz)
    assert result.returncode == 0, result.stdout + result.stderr
    with zipfile.ZipFile(wacz) as package:
        pages = [json.loads(line) for line in package.read("pages/pages.jsonl").splitlines()[1:]]
    assert {page["url"] for page in pages} == {item["fetched_url"] for item in crawled.result.items}
    assert all(page["title"] and page["text"] for page in pages)
    assert not (root.parent / "spool" / crawl_id).exists()
