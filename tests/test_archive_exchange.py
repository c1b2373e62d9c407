"""Parsing the captured heads into what the WARC records hold."""

import pytest
from scrapy.http import HtmlResponse, Request

from crawler.archive.exchange import (
    MalformedHead,
    exchange_data,
    parse_request,
    parse_response_head,
)
from crawler.archive.wire import WireCapture

HEAD = (
    b"HTTP/1.1 404 Not Here\r\n"
    b"Content-Type: text/html; charset=UTF-8\r\n"
    b"Set-Cookie: a=1\r\n"
    b"X-Folded: first\r\n"
    b"  second\r\n"
    b"Set-Cookie: b=2\r\n"
    b"no colon here\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)
SENT = b"GET /tim-kiem?q=h%E1%BA%A3i+ph%C3%B2ng&page=2 HTTP/1.1\r\nHost: h\r\nUser-Agent: x\r\n\r\n"


def test_response_head_keeps_reason_order_repeats_and_folding():
    protocol, status, reason, headers = parse_response_head(HEAD)
    assert (protocol, status, reason) == ("HTTP/1.1", 404, "Not Here")
    assert headers == [
        ("Content-Type", "text/html; charset=UTF-8"),
        ("Set-Cookie", "a=1"),
        ("X-Folded", "first second"),
        ("Set-Cookie", "b=2"),
        ("Transfer-Encoding", "chunked"),
    ]


def test_request_as_written_keeps_its_query_string():
    method, target, protocol, headers, body = parse_request(SENT)
    assert (method, target, protocol) == (
        "GET",
        "/tim-kiem?q=h%E1%BA%A3i+ph%C3%B2ng&page=2",
        "HTTP/1.1",
    )
    assert headers == [("Host", "h"), ("User-Agent", "x")]
    assert body == b""


@pytest.mark.parametrize(
    "head", [b"HTTP/1.1 200 OK\r\n", b"garbage\r\n\r\n", b"HTTP/1.1 abc\r\n\r\n"]
)
def test_malformed_heads_are_refused(head):
    with pytest.raises(MalformedHead):
        parse_response_head(head)


def test_exchange_from_a_capture_is_exact_and_chunked_is_noticed():
    request = Request("http://h/tim-kiem?q=x")
    response = HtmlResponse(request.url, status=404, body=b"<html></html>", request=request)
    data, exact = exchange_data(request, response, WireCapture(SENT, HEAD))
    assert exact and data.was_chunked and data.reason == "Not Here"
    assert data.request_target.startswith("/tim-kiem?q=")


def test_without_a_capture_the_heads_are_rebuilt_and_said_to_be():
    request = Request("http://h/a.html?x=1", headers={"User-Agent": "ua"})
    response = HtmlResponse(
        request.url, status=200, headers={"Set-Cookie": ["a=1", "b=2"]}, body=b"x", request=request
    )
    data, exact = exchange_data(request, response, None)
    assert not exact
    assert (data.status, data.reason, data.request_target) == (200, "OK", "/a.html?x=1")
    assert [v for n, v in data.response_headers if n == "Set-Cookie"] == ["a=1", "b=2"]
    assert ("Host", "h") in data.request_headers
