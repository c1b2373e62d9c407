"""WARC records of one exchange: written with warcio, read back with warcio and FastWARC."""

from __future__ import annotations

import base64
import gzip
import hashlib
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastwarc.warc import ArchiveIterator as FastArchiveIterator
from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord
from warcio.warcwriter import WARCWriter

import crawler
from crawler.archive.records import (
    CrawlInfo,
    ExchangeData,
    build_exchange_records,
    build_metadata_record,
    build_request_record,
    build_response_record,
    build_warcinfo_record,
    warc_date,
)

FETCHED_AT = datetime(2026, 11, 26, 23, 15, 26, 987654, tzinfo=UTC)
HTML = "<html><head><title>Hải Phòng</title></head><body>Tin tức</body></html>".encode()
GZIPPED_HTML = gzip.compress(HTML, mtime=0)
CRAWL_INFO = CrawlInfo(
    crawl_id="crawl-20261126",
    portal_url="https://thanhphohaiphong.gov.vn/",
    robots_policy="obey",
    operator="Archive team <archive@example.org>",
    hostname="crawler-1",
)
RESPONSE_HEADERS = [
    ("Date", "Thu, 26 Nov 2026 23:15:26 GMT"),
    ("Content-Type", "text/html; charset=utf-8"),
    ("Content-Encoding", "gzip"),
    ("Set-Cookie", "ASP.NET_SessionId=abc123; path=/; HttpOnly"),
    ("Set-Cookie", "lang=vi; path=/"),
    ("Vary", "Accept-Encoding"),
    ("Content-Length", str(len(GZIPPED_HTML))),
]


def make_exchange(**changes: object) -> ExchangeData:
    """A gzipped portal page fetched with a query string; `changes` override fields."""
    exchange = ExchangeData(
        url="https://thanhphohaiphong.gov.vn/tin-tuc?page=2&sort=new",
        method="GET",
        request_target="/tin-tuc?page=2&sort=new",
        request_headers=[
            ("Host", "thanhphohaiphong.gov.vn"),
            ("User-Agent", "haiphong-archiver/0.1"),
            ("Accept-Encoding", "gzip, deflate"),
            ("Cookie", "a=1"),
            ("Cookie", "b=2"),
        ],
        request_body=b"",
        http_version="HTTP/1.1",
        status=200,
        reason="OK",
        response_headers=list(RESPONSE_HEADERS),
        body=GZIPPED_HTML,
        was_chunked=False,
        ip_address="203.0.113.7",
        fetched_at=FETCHED_AT,
    )
    return replace(exchange, **changes)


def exchange_records(data: ExchangeData, *, outlinks: int = 2) -> list[ArcWarcRecord]:
    """Response, request and metadata records of one exchange, as the crawler would write."""
    response, request = build_exchange_records(data)
    metadata = build_metadata_record(
        data.url,
        data.fetched_at,
        concurrent_to=response.rec_headers.get("WARC-Record-ID"),
        outlinks=[f"https://thanhphohaiphong.gov.vn/bai-{n}.html" for n in range(outlinks)],
        via="https://thanhphohaiphong.gov.vn/",
        fetched_by="http",
    )
    return [response, request, metadata]


def write_warc(path: Path, records: list[ArcWarcRecord]) -> None:
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for record in records:
            writer.write_record(record)


def read_warc(path: Path) -> list[tuple[list, object, bytes]]:
    """(WARC headers, HTTP head, raw block payload) of every record, read with warcio."""
    with open(path, "rb") as fh:
        return [
            (record.rec_headers.headers, record.http_headers, record.raw_stream.read())
            for record in ArchiveIterator(fh)
        ]


def sha1_base32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def assert_warcio_check(path: Path) -> None:
    warcio = Path(sys.executable).parent / "warcio"
    result = subprocess.run(
        [str(warcio), "check", "-v", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "digest pass" in result.stdout


def assert_fastwarc_digests(path: Path) -> int:
    """FastWARC reads every record and verifies every digest present; returns the count."""
    count = 0
    with open(path, "rb") as fh:
        for record in FastArchiveIterator(fh, parse_http=False):
            assert record.verify_block_digest(), record.record_id
            if record.is_http:
                record.parse_http()
                assert record.verify_payload_digest(), record.record_id
            elif "WARC-Payload-Digest" in record.headers:
                # Outside HTTP the payload is the whole block: warcio writes a payload digest
                # on metadata records, FastWARC verifies payload digests of HTTP records only.
                payload_digest = record.headers["WARC-Payload-Digest"]
                assert payload_digest == record.headers["WARC-Block-Digest"], record.record_id
            count += 1
    return count


def test_gzipped_response_is_stored_as_received(tmp_path: Path) -> None:
    data = make_exchange(status=404, reason="Not Found Here")
    path = tmp_path / "page.warc.gz"
    write_warc(path, [build_response_record(data)])

    [(headers, http_headers, raw)] = read_warc(path)
    rec_headers = dict(headers)
    assert http_headers.protocol == "HTTP/1.1"
    assert http_headers.statusline == "404 Not Found Here"
    assert http_headers.headers == RESPONSE_HEADERS
    # The block holds the body still gzip-compressed, exactly as it came off the wire.
    assert raw == GZIPPED_HTML
    assert gzip.decompress(raw) == HTML
    # The payload digest is over the stored (transfer-decoded) body, not the decoded HTML.
    assert rec_headers["WARC-Payload-Digest"] == sha1_base32(GZIPPED_HTML)
    assert rec_headers.get("WARC-Payload-Digest") != sha1_base32(HTML)
    assert rec_headers.get("WARC-Type") == "response"
    assert rec_headers.get("WARC-Target-URI") == data.url
    assert rec_headers.get("WARC-Date") == "2026-11-26T23:15:26Z"
    assert rec_headers.get("WARC-IP-Address") == "203.0.113.7"
    assert_warcio_check(path)
    assert assert_fastwarc_digests(path) == 1


@pytest.mark.parametrize(
    ("original_length", "expected_extra", "was_chunked"),
    [
        (None, [], True),
        ("9999", [("X-Orig-Content-Length", "9999")], True),
        # The header alone says the body was de-chunked, whatever the flag claims.
        (None, [], False),
    ],
)
def test_chunked_response_headers_agree_with_stored_body(
    tmp_path: Path,
    original_length: str | None,
    expected_extra: list[tuple[str, str]],
    was_chunked: bool,
) -> None:
    headers = [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Transfer-Encoding", "chunked"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
    ]
    if original_length is not None:
        headers.append(("Content-Length", original_length))
    data = make_exchange(response_headers=headers, body=HTML, was_chunked=was_chunked)
    path = tmp_path / "chunked.warc.gz"
    write_warc(path, [build_response_record(data)])

    [(_, http_headers, raw)] = read_warc(path)
    assert raw == HTML
    assert http_headers.get_header("Transfer-Encoding") is None
    assert http_headers.headers == [
        ("Content-Type", "text/html; charset=utf-8"),
        ("X-Orig-Transfer-Encoding", "chunked"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
        *expected_extra,
        ("Content-Length", str(len(HTML))),
    ]
    assert_warcio_check(path)
    assert assert_fastwarc_digests(path) == 1


def test_chunked_response_keeps_an_agreeing_content_length_in_place() -> None:
    headers = [("Content-Length", str(len(HTML))), ("Transfer-Encoding", "chunked")]
    record = build_response_record(
        make_exchange(response_headers=headers, body=HTML, was_chunked=True)
    )
    assert record.http_headers.headers == [
        ("Content-Length", str(len(HTML))),
        ("X-Orig-Transfer-Encoding", "chunked"),
    ]


def test_request_record_has_full_request_line_and_headers_as_sent(tmp_path: Path) -> None:
    data = make_exchange()
    response, request = build_exchange_records(data)
    path = tmp_path / "pair.warc.gz"
    write_warc(path, [response, request])

    [(resp_headers, _, _), (req_headers, req_http, req_body)] = read_warc(path)
    assert req_http.to_str().splitlines()[0] == "GET /tin-tuc?page=2&sort=new HTTP/1.1"
    assert req_http.headers == data.request_headers
    assert req_body == b""
    req = dict(req_headers)
    resp = dict(resp_headers)
    assert req["WARC-Type"] == "request"
    assert req["WARC-Concurrent-To"] == resp["WARC-Record-ID"]
    assert req["WARC-Record-ID"] != resp["WARC-Record-ID"]
    for name in ("WARC-Target-URI", "WARC-Date", "WARC-IP-Address"):
        assert req[name] == resp[name]
    assert_warcio_check(path)
    assert assert_fastwarc_digests(path) == 2


def test_post_request_body_is_stored(tmp_path: Path) -> None:
    form = b"keyword=h%E1%BA%A3i+ph%C3%B2ng&page=1"
    data = make_exchange(
        method="POST",
        request_target="/tim-kiem",
        request_headers=[("Content-Type", "application/x-www-form-urlencoded")],
        request_body=form,
    )
    path = tmp_path / "post.warc.gz"
    write_warc(path, [build_request_record(data, concurrent_to="<urn:uuid:x>")])

    [(headers, http_headers, body)] = read_warc(path)
    assert http_headers.to_str().splitlines()[0] == "POST /tim-kiem HTTP/1.1"
    assert body == form
    assert dict(headers)["WARC-Payload-Digest"] == sha1_base32(form)
    assert_warcio_check(path)


def test_non_ascii_reason_is_percent_encoded_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "reason.warc.gz"
    write_warc(path, [build_response_record(make_exchange(reason="Được"))])
    [(_, http_headers, _)] = read_warc(path)
    assert http_headers.statusline == "200 %C4%90%C6%B0%E1%BB%A3c"
    assert_warcio_check(path)


def test_unknown_ip_address_is_left_out() -> None:
    record = build_response_record(make_exchange(ip_address=None))
    assert record.rec_headers.get("WARC-IP-Address") is None


def test_warc_date_has_second_precision_in_utc() -> None:
    assert warc_date(FETCHED_AT) == "2026-11-26T23:15:26Z"
    with pytest.raises(ValueError, match="naive"):
        warc_date(datetime(2026, 11, 26, 23, 15, 26))


def test_metadata_record_lists_via_fetcher_and_outlinks(tmp_path: Path) -> None:
    record = build_metadata_record(
        "https://thanhphohaiphong.gov.vn/bai-1.html",
        FETCHED_AT,
        concurrent_to="<urn:uuid:00000000-0000-0000-0000-000000000001>",
        outlinks=["https://thanhphohaiphong.gov.vn/a.html", "https://thanhphohaiphong.gov.vn/b"],
        via="https://thanhphohaiphong.gov.vn/tin-tuc",
        fetched_by="browser",
    )
    path = tmp_path / "metadata.warc.gz"
    write_warc(path, [record])

    [(headers, http_headers, payload)] = read_warc(path)
    fields = dict(headers)
    assert http_headers is None
    assert fields["WARC-Type"] == "metadata"
    assert fields["Content-Type"] == "application/warc-fields"
    assert fields["WARC-Target-URI"] == "https://thanhphohaiphong.gov.vn/bai-1.html"
    assert fields["WARC-Concurrent-To"] == "<urn:uuid:00000000-0000-0000-0000-000000000001>"
    assert payload.decode().splitlines() == [
        "via: https://thanhphohaiphong.gov.vn/tin-tuc",
        "fetchedBy: browser",
        "outlink: https://thanhphohaiphong.gov.vn/a.html",
        "outlink: https://thanhphohaiphong.gov.vn/b",
    ]
    assert_warcio_check(path)
    assert assert_fastwarc_digests(path) == 1


def test_metadata_rejects_a_line_break_in_a_value() -> None:
    with pytest.raises(ValueError, match="outlink.*line break"):
        build_metadata_record(
            "https://thanhphohaiphong.gov.vn/",
            FETCHED_AT,
            concurrent_to="<urn:uuid:x>",
            outlinks=["https://a/\r\nrobots: ignore"],
            via=None,
            fetched_by="http",
        )


def test_warcinfo_describes_the_crawl(tmp_path: Path) -> None:
    record = build_warcinfo_record("x.warc.gz", CRAWL_INFO, FETCHED_AT, record_id="<urn:uuid:1>")
    path = tmp_path / "info.warc.gz"
    write_warc(path, [record])

    [(headers, _, payload)] = read_warc(path)
    fields = dict(headers)
    assert fields["WARC-Type"] == "warcinfo"
    assert fields["WARC-Filename"] == "x.warc.gz"
    assert fields["WARC-Record-ID"] == "<urn:uuid:1>"
    assert fields["WARC-Date"] == "2026-11-26T23:15:26Z"
    lines = payload.decode().splitlines()
    assert lines[0].startswith(f"software: haiphong-archiver/{crawler.__version__} warcio/1.")
    assert lines[1:] == [
        "format: WARC File Format 1.0",
        "isPartOf: crawl-20261126",
        "portal: https://thanhphohaiphong.gov.vn/",
        "robots: obey",
        "operator: Archive team <archive@example.org>",
        "hostname: crawler-1",
    ]
    assert_warcio_check(path)


def test_all_record_types_in_one_file_pass_both_readers(tmp_path: Path) -> None:
    path = tmp_path / "all.warc.gz"
    records = [build_warcinfo_record("all.warc.gz", CRAWL_INFO, FETCHED_AT)]
    records += exchange_records(make_exchange())
    chunked = [("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip")]
    records += exchange_records(
        make_exchange(response_headers=chunked, was_chunked=True, url="https://a.test/x?y=1")
    )
    write_warc(path, records)
    assert_warcio_check(path)
    assert assert_fastwarc_digests(path) == 7


def test_golden_response_record_headers(tmp_path: Path) -> None:
    data = make_exchange(
        response_headers=[("Content-Type", "text/plain"), ("Transfer-Encoding", "chunked")],
        body=b"Xin chao Hai Phong\n",
        was_chunked=True,
    )
    path = tmp_path / "golden.warc.gz"
    write_warc(
        path,
        [build_response_record(data, record_id="<urn:uuid:7f5e1a04-0d7b-4c52-9a0e-1c2d3e4f5a6b>")],
    )
    [(headers, http_headers, body)] = read_warc(path)
    head = (
        b"HTTP/1.1 200 OK\r\n"
        b"Content-Type: text/plain\r\n"
        b"X-Orig-Transfer-Encoding: chunked\r\n"
        b"Content-Length: 19\r\n"
        b"\r\n"
    )
    assert http_headers.to_bytes() == head
    assert headers == [
        ("WARC-Type", "response"),
        ("WARC-Record-ID", "<urn:uuid:7f5e1a04-0d7b-4c52-9a0e-1c2d3e4f5a6b>"),
        ("WARC-Target-URI", "https://thanhphohaiphong.gov.vn/tin-tuc?page=2&sort=new"),
        ("WARC-Date", "2026-11-26T23:15:26Z"),
        ("WARC-IP-Address", "203.0.113.7"),
        ("WARC-Payload-Digest", "sha1:HBF6CYO5LIAW2K64IYABBI5W3J5ZTDBO"),
        ("WARC-Block-Digest", "sha1:7ZSITVVM2XGM2VQMXSC4QVDQH3VE3INX"),
        ("Content-Type", "application/http; msgtype=response"),
        ("Content-Length", "119"),
    ]
    # The golden digests are what they claim to be: over the body, and over head + body.
    assert sha1_base32(body) == "sha1:HBF6CYO5LIAW2K64IYABBI5W3J5ZTDBO"
    assert sha1_base32(head + body) == "sha1:7ZSITVVM2XGM2VQMXSC4QVDQH3VE3INX"
    assert len(head + body) == 119
