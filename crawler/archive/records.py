"""Build WARC records for one HTTP exchange from plain data (no Scrapy types).

Everything goes through warcio's record builder; nothing here writes a WARC header by hand.
The response record keeps the bytes as they came off the wire: status line with the real
reason, headers in order with repeats, and the body still Content-Encoding'd. Only the
transfer coding is undone (the body arrives de-chunked), so the headers are rewritten to agree
with the stored body, the way warcio and Browsertrix do it.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib.metadata import version
from io import BytesIO
from typing import Literal
from urllib.parse import quote

from warcio.recordbuilder import RecordBuilder
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser

import crawler

logger = logging.getLogger(__name__)

# WARC/1.0 is what every replay tool and indexer reads; its WARC-Date has second precision.
WARC_VERSION = "WARC/1.0"
WARC_FORMAT = "WARC File Format 1.0"
SOFTWARE = f"haiphong-archiver/{crawler.__version__} warcio/{version('warcio')}"

# The builder holds only the WARC version; sharing one is as good as making one per record.
_BUILDER = RecordBuilder(warc_version=WARC_VERSION)

_PRINTABLE_ASCII = "".join(chr(code) for code in range(0x20, 0x7F))

Header = tuple[str, str]
FetchedBy = Literal["http", "browser"]


@dataclass(frozen=True)
class ExchangeData:
    """One HTTP request and its response, as sent and as received.

    Headers are (name, value) pairs in wire order with repeats kept, decoded as latin-1 by the
    caller; warcio percent-encodes any non-ASCII value when it writes them. `request_target`
    is the path and query as sent. `body` is the payload after transfer decoding (de-chunked)
    but before content decoding: still gzipped if the server sent `Content-Encoding: gzip`.
    `fetched_at` is an aware UTC datetime.
    """

    url: str
    method: str
    request_target: str
    request_headers: list[Header]
    request_body: bytes
    http_version: str
    status: int
    reason: str
    response_headers: list[Header]
    body: bytes
    was_chunked: bool
    ip_address: str | None
    fetched_at: datetime


@dataclass(frozen=True)
class CrawlInfo:
    """What the warcinfo record at the head of every file says about the crawl."""

    crawl_id: str
    portal_url: str
    robots_policy: str
    operator: str
    hostname: str


def new_record_id() -> str:
    """A fresh `<urn:uuid:…>` WARC-Record-ID."""
    return StatusAndHeadersParser.make_warc_id()


def warc_date(moment: datetime) -> str:
    """ISO 28500 WARC-Date with second precision, e.g. `2026-11-26T23:15:26Z`."""
    if moment.tzinfo is None:
        raise ValueError(f"WARC dates need an aware datetime (UTC), got naive {moment!r}")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class ArchivedPayload:
    """A payload already archived: fetched again unchanged, it is written as a revisit."""

    digest: str  # the WARC-Payload-Digest of its response record, "sha1:<base32>"
    target_uri: str  # that record's WARC-Target-URI
    date: str  # that record's WARC-Date


def payload_digest(body: bytes) -> str:
    """`sha1:<base32>` of a body as stored (the WARC payload digest convention)."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


def build_exchange_records(
    data: ExchangeData,
    *,
    response_id: str | None = None,
    request_id: str | None = None,
    archived: ArchivedPayload | None = None,
) -> tuple[ArcWarcRecord, ArcWarcRecord]:
    """The (response, request) pair of one exchange; the request names the response.

    With `archived` and the same payload, the response is a `revisit` record instead.
    """
    if archived is not None and payload_digest(data.body) == archived.digest:
        response = build_revisit_record(data, archived, record_id=response_id)
    else:
        response = build_response_record(data, record_id=response_id)
    request = build_request_record(data, concurrent_to=_record_id(response), record_id=request_id)
    return response, request


def build_response_record(data: ExchangeData, *, record_id: str | None = None) -> ArcWarcRecord:
    """The `response` record: real status line, headers as received, body as received."""
    reason = _ascii(data.reason)
    status_line = f"{data.status} {reason}" if reason else str(data.status)
    headers = _storable_response_headers(data)
    http_headers = StatusAndHeaders(status_line, headers, protocol=data.http_version)
    return _BUILDER.create_warc_record(
        data.url,
        "response",
        payload=BytesIO(data.body),
        length=len(data.body),
        warc_headers_dict=_exchange_warc_headers(data, "response", record_id),
        http_headers=http_headers,
    )


def build_revisit_record(
    data: ExchangeData, archived: ArchivedPayload, *, record_id: str | None = None
) -> ArcWarcRecord:
    """A `revisit` record (identical-payload-digest profile): the response's HTTP head as
    received, no body, and where the identical payload was archived before."""
    reason = _ascii(data.reason)
    status_line = f"{data.status} {reason}" if reason else str(data.status)
    http_headers = StatusAndHeaders(
        status_line, _storable_response_headers(data), protocol=data.http_version
    )
    return _BUILDER.create_revisit_record(
        data.url,
        archived.digest,
        archived.target_uri,
        archived.date,
        http_headers=http_headers,
        warc_headers_dict=_exchange_warc_headers(data, "revisit", record_id),
    )


def build_request_record(
    data: ExchangeData, *, concurrent_to: str, record_id: str | None = None
) -> ArcWarcRecord:
    """The `request` record: full request line (with query string) and the headers sent."""
    request_line = f"{data.method} {_ascii(data.request_target)} {data.http_version}"
    http_headers = StatusAndHeaders(request_line, list(data.request_headers), is_http_request=True)
    warc_headers = _exchange_warc_headers(data, "request", record_id)
    warc_headers["WARC-Concurrent-To"] = concurrent_to
    return _BUILDER.create_warc_record(
        data.url,
        "request",
        payload=BytesIO(data.request_body),
        length=len(data.request_body),
        warc_headers_dict=warc_headers,
        http_headers=http_headers,
    )


def one_record(build: Callable[..., ArcWarcRecord], *args, **kwargs) -> list[ArcWarcRecord]:
    """One record as a group of one: a picklable job for the writer process. Here, not
    beside its callers: unpickling a job imports the module of its function in the writer,
    and this one imports no Scrapy (the writer's memory stays that of warcio)."""
    return [build(*args, **kwargs)]


def build_metadata_record(
    url: str,
    fetched_at: datetime,
    *,
    concurrent_to: str,
    outlinks: Iterable[str],
    via: str | None,
    fetched_by: FetchedBy,
    record_id: str | None = None,
) -> ArcWarcRecord:
    """The `metadata` record of a page: how it was fetched, where from, where it links."""
    fields: list[Header] = []
    if via:
        fields.append(("via", via))
    fields.append(("fetchedBy", fetched_by))
    fields.extend(("outlink", link) for link in outlinks)
    return _record_about(
        "metadata",
        url,
        fetched_at,
        "application/warc-fields",
        _warc_fields(fields),
        concurrent_to=concurrent_to,
        record_id=record_id,
    )


def build_browser_exchange_records(
    data: ExchangeData, *, response_id: str, body_decoded: bool
) -> tuple[ArcWarcRecord, ArcWarcRecord]:
    """The (response, request) pair of an exchange a browser made while rendering a page.

    Browsers hand over bodies already content-decoded. Such a body is stored as it was
    given, under headers that agree with it, as Browsertrix does: `Content-Encoding`
    becomes `X-Orig-Content-Encoding`, `Content-Length` is the stored body's, and the
    WARC header `WARC-Payload-Decoded` says what was undone. An identity body is kept as
    received (de-chunked, like every body we store).
    """
    if body_decoded:
        data = replace(data, response_headers=_decoded_body_headers(data))
    response = build_response_record(data, record_id=response_id)
    if body_decoded:
        codings = ", ".join(
            value for name, value in data.response_headers if name == "X-Orig-Content-Encoding"
        )
        response.rec_headers.add_header("WARC-Payload-Decoded", codings)
    request = build_request_record(data, concurrent_to=response_id)
    return response, request


def build_resource_record(
    url: str,
    fetched_at: datetime,
    content_type: str,
    payload: bytes,
    *,
    concurrent_to: str,
    record_id: str | None = None,
) -> ArcWarcRecord:
    """A `resource` record: something made from a capture (a rendered DOM, a screenshot)."""
    return _record_about(
        "resource",
        url,
        fetched_at,
        content_type,
        payload,
        concurrent_to=concurrent_to,
        record_id=record_id,
    )


def _record_about(
    record_type: str,
    url: str,
    fetched_at: datetime,
    content_type: str,
    payload: bytes,
    *,
    concurrent_to: str,
    record_id: str | None,
) -> ArcWarcRecord:
    """A record about a capture (`WARC-Concurrent-To` it): its payload as given."""
    warc_headers = {
        "WARC-Type": record_type,
        "WARC-Record-ID": record_id or new_record_id(),
        "WARC-Target-URI": url,
        "WARC-Date": warc_date(fetched_at),
        "WARC-Concurrent-To": concurrent_to,
    }
    return _BUILDER.create_warc_record(
        url,
        record_type,
        payload=BytesIO(payload),
        length=len(payload),
        warc_content_type=content_type,
        warc_headers_dict=warc_headers,
    )


def build_rendered_page_records(
    page_url: str,
    fetched_at: datetime,
    *,
    concurrent_to: str,
    dom: bytes,
    dom_content_type: str,
    screenshot: bytes | None = None,
) -> list[ArcWarcRecord]:
    """A rendered page's DOM (`urn:dom:<url>`) and, if taken, its PNG (`urn:view:<url>`).

    Their own URIs, so that replay of the page's URL serves the archived response.
    """
    records = [
        build_resource_record(
            f"urn:dom:{page_url}", fetched_at, dom_content_type, dom, concurrent_to=concurrent_to
        )
    ]
    if screenshot is not None:
        records.append(
            build_resource_record(
                f"urn:view:{page_url}",
                fetched_at,
                "image/png",
                screenshot,
                concurrent_to=concurrent_to,
            )
        )
    return records


def build_warcinfo_record(
    filename: str,
    info: CrawlInfo,
    created_at: datetime,
    *,
    record_id: str | None = None,
) -> ArcWarcRecord:
    """The `warcinfo` record that opens the file `filename`."""
    fields = {
        "software": SOFTWARE,
        "format": WARC_FORMAT,
        "isPartOf": info.crawl_id,
        "portal": info.portal_url,
        "robots": info.robots_policy,
        "operator": info.operator,
        "hostname": info.hostname,
    }
    for name, value in fields.items():
        _check_field(name, value)
    record = _BUILDER.create_warcinfo_record(filename, fields)
    # The builder stamps a random id and the current time; fixed ones make golden files possible.
    record.rec_headers.replace_header("WARC-Record-ID", record_id or new_record_id())
    record.rec_headers.replace_header("WARC-Date", warc_date(created_at))
    return record


def _exchange_warc_headers(
    data: ExchangeData, record_type: str, record_id: str | None
) -> dict[str, str]:
    headers = {
        "WARC-Type": record_type,
        "WARC-Record-ID": record_id or new_record_id(),
        "WARC-Target-URI": data.url,
        "WARC-Date": warc_date(data.fetched_at),
    }
    if data.ip_address:
        headers["WARC-IP-Address"] = data.ip_address
    return headers


def _storable_response_headers(data: ExchangeData) -> list[Header]:
    """Headers as received, except that a de-chunked body must not sit under `chunked`."""
    headers = list(data.response_headers)
    if not (data.was_chunked or _has_header(headers, "transfer-encoding")):
        return headers
    stored_length = str(len(data.body))
    rewritten: list[Header] = []
    for name, value in headers:
        lower = name.lower()
        if lower == "transfer-encoding":
            rewritten.append(("X-Orig-Transfer-Encoding", value))
        elif lower == "content-length" and value.strip() != stored_length:
            rewritten.append(("X-Orig-Content-Length", value))
        else:
            rewritten.append((name, value))
    if not _has_header(rewritten, "content-length"):
        rewritten.append(("Content-Length", stored_length))
    logger.debug("De-chunked response of %s stored with Content-Length %s", data.url, stored_length)
    return rewritten


def _decoded_body_headers(data: ExchangeData) -> list[Header]:
    """Headers for a body stored content-decoded: encodings and length renamed `X-Orig-`."""
    stored_length = str(len(data.body))
    rewritten: list[Header] = []
    for name, value in data.response_headers:
        lower = name.lower()
        if lower == "content-encoding":
            rewritten.append(("X-Orig-Content-Encoding", value))
        elif lower == "content-length" and value.strip() != stored_length:
            rewritten.append(("X-Orig-Content-Length", value))
        else:
            rewritten.append((name, value))
    if not _has_header(rewritten, "content-length"):
        rewritten.append(("Content-Length", stored_length))
    return rewritten


def _ascii(text: str) -> str:
    """Percent-encode what is not printable ASCII, as warcio does for header values.

    warcio writes the HTTP head as ASCII and fails on anything else; a reason phrase is the
    one part of the first line a server may send in another charset.
    """
    return quote(text, safe=_PRINTABLE_ASCII)


def _has_header(headers: Sequence[Header], lower_name: str) -> bool:
    return any(name.lower() == lower_name for name, _ in headers)


def _warc_fields(fields: Sequence[Header]) -> bytes:
    for name, value in fields:
        _check_field(name, value)
    return b"".join(f"{name}: {value}\r\n".encode() for name, value in fields)


def _check_field(name: str, value: str) -> None:
    # A line break inside a value would forge a new field (or end the block) for every reader.
    if "\r" in value or "\n" in value:
        raise ValueError(f"WARC field {name!r} contains a line break: {value!r}")


def _record_id(record: ArcWarcRecord) -> str:
    return record.rec_headers.get_header("WARC-Record-ID")
