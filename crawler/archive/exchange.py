"""Turn a Scrapy request/response (plus the wire capture) into ``ExchangeData``."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from http import HTTPStatus
from urllib.parse import urlsplit

from crawler.archive.records import ExchangeData, Header
from crawler.archive.wire import WireCapture

logger = logging.getLogger(__name__)


class MalformedHead(ValueError):
    """A captured HTTP head that does not parse."""


def _header_lines(lines: list[bytes]) -> list[Header]:
    """``name: value`` lines (obsolete folding joined), bytes kept as Latin-1 text."""
    headers: list[Header] = []
    for line in lines:
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip().decode('latin-1')}")
            continue
        name, colon, value = line.partition(b":")
        if not colon:
            logger.debug("skipping header line without a colon: %r", line)
            continue
        headers.append((name.decode("latin-1").strip(), value.strip().decode("latin-1")))
    return headers


def _split_head(data: bytes) -> tuple[bytes, list[bytes], bytes]:
    head, separator, rest = data.partition(b"\r\n\r\n")
    if not separator:
        raise MalformedHead("no blank line after the head")
    lines = head.split(b"\r\n")
    return lines[0], lines[1:], rest


def parse_response_head(head: bytes) -> tuple[str, int, str, list[Header]]:
    """``(protocol, status, reason, headers)`` of a response head as read."""
    first, lines, _ = _split_head(head)
    parts = first.decode("latin-1").split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise MalformedHead(f"bad status line {first!r}")
    reason = parts[2] if len(parts) == 3 else ""
    return parts[0], int(parts[1]), reason, _header_lines(lines)


def parse_request(sent: bytes) -> tuple[str, str, str, list[Header], bytes]:
    """``(method, target, protocol, headers, body)`` of a request as written."""
    first, lines, body = _split_head(sent)
    parts = first.decode("latin-1").split(" ")
    if len(parts) != 3:
        raise MalformedHead(f"bad request line {first!r}")
    method, target, protocol = parts
    return method, target, protocol, _header_lines(lines), body


def exchange_data(
    request, response, capture: WireCapture | None, now: datetime | None = None
) -> tuple[ExchangeData, bool]:
    """The exchange as it crossed the wire, or as near as Scrapy can tell.

    With the handler's wire capture the heads are exact; without one
    (another handler) or with an unparseable one they are rebuilt from
    Scrapy's objects. The flag says whether the heads are the exact ones.
    """
    fetched_at = now or datetime.now(UTC)
    ip_address = str(response.ip_address) if response.ip_address is not None else None
    if capture is not None:
        try:
            method, target, version, request_headers, request_body = parse_request(capture.sent)
            protocol, status, reason, headers = parse_response_head(capture.response_head)
        except MalformedHead as exc:
            logger.warning("rebuilding the heads of %s: %s", request.url, exc)
        else:
            exact = ExchangeData(
                url=request.url,
                method=method,
                request_target=target,
                request_headers=request_headers,
                request_body=request_body,
                http_version=protocol or version,
                status=status,
                reason=reason,
                response_headers=headers,
                body=response.body,
                was_chunked=_is_chunked(headers),
                ip_address=ip_address,
                fetched_at=fetched_at,
            )
            return exact, True
    return _rebuilt(request, response, ip_address, fetched_at), False


def _is_chunked(headers: list[Header]) -> bool:
    return any(
        name.lower() == "transfer-encoding" and "chunked" in value.lower()
        for name, value in headers
    )


def _scrapy_headers(headers) -> list[Header]:
    return [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, values in headers.items()
        for value in values
    ]


def _rebuilt(request, response, ip_address, fetched_at) -> ExchangeData:
    parts = urlsplit(request.url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = ""
    return ExchangeData(
        url=request.url,
        method=request.method,
        request_target=target,
        request_headers=[("Host", parts.netloc), *_scrapy_headers(request.headers)],
        request_body=request.body,
        http_version=response.protocol or "HTTP/1.1",
        status=response.status,
        reason=reason,
        response_headers=_scrapy_headers(response.headers),
        body=response.body,
        was_chunked=False,
        ip_address=ip_address,
        fetched_at=fetched_at,
    )
