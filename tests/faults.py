"""Hostile answers for the fixture portal (``portal.inject(match, fault)``): what a
misbehaving server, a firewall or a maintenance page sends instead of the article.

Each fault writes a whole HTTP/1.1 answer (or none) on the request handler's socket and
closes the connection, so the crawler's next request starts clean.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterable

from crawler.fixture_portal.server import Fault

HTML = "text/html; charset=UTF-8"


def _send(handler, status: int, headers: Iterable[tuple[str, str]], body: bytes) -> None:
    handler.send_response(status)
    for name, value in headers:
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("Connection", "close")
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)
    handler.close_connection = True


def answer(status: int, body: bytes = b"", headers: Iterable[tuple[str, str]] = (), *,
           content_type: str = HTML) -> Fault:  # fmt: skip
    """A fixed answer: any status, headers and body (a 429, a block page, garbage)."""
    headers = (("Content-Type", content_type), *headers)

    def fault(handler) -> None:
        _send(handler, status, headers, body)

    return fault


def too_many_requests(retry_after: str | None = None, status: int = 429) -> Fault:
    """A rate limiter's answer, with ``Retry-After`` (seconds or an HTTP date) if given."""
    headers = (("Retry-After", retry_after),) if retry_after is not None else ()
    return answer(status, b"<html><body><h1>Too Many Requests</h1></body></html>", headers)


def gzip_bomb(inflated: int, chunk: int = 1024 * 1024) -> Fault:
    """A 200 whose gzip body inflates to ``inflated`` bytes of zeros (made once)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(chunk)
    parts = [compressor.compress(zeros) for _ in range(inflated // chunk)]
    parts.append(compressor.compress(bytes(inflated % chunk)))
    parts.append(compressor.flush())
    body = b"".join(parts)
    return answer(200, body, (("Content-Encoding", "gzip"),))


def gzipped(status: int, html: bytes) -> Fault:
    """An ordinary gzip-encoded answer (for faults that wrap real pages)."""
    return answer(status, gzip.compress(html, mtime=0), (("Content-Encoding", "gzip"),))


def hang(portal) -> Fault:
    """Accept the request and never answer, until the portal stops."""

    def fault(handler) -> None:
        portal.stopping.wait()
        handler.close_connection = True

    return fault


def first(count: int, fault: Fault, then: Fault | None = None) -> Fault:
    """``fault`` for the first ``count`` requests it matches, then ``then`` (by default
    the portal's own answer: the page recovered)."""
    lock = threading.Lock()
    seen = [0]

    def wrapped(handler) -> None:
        with lock:
            seen[0] += 1
            hostile = seen[0] <= count
        if hostile:
            fault(handler)
        elif then is not None:
            then(handler)
        else:
            handler.server.portal.serve_normally(handler)

    return wrapped


def matching(*targets: str) -> Callable[[str], bool]:
    """A match for request targets that start with one of ``targets``."""
    return lambda target: target.startswith(targets)


def redirect(location: str, status: int = 302) -> Fault:
    """A redirect to ``location``."""
    return answer(status, b"", (("Location", location),))


def timed(arrivals: list, fault: Fault | None = None) -> Fault:
    """``fault`` (by default the portal's own answer), with each request's arrival appended
    to ``arrivals`` as ``(time.monotonic(), target)``: what the server saw, and when."""

    def wrapped(handler) -> None:
        arrivals.append((time.monotonic(), handler.path))
        if fault is not None:
            fault(handler)
        else:
            handler.server.portal.serve_normally(handler)

    return wrapped
