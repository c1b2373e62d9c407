"""Hostile answers for the fixture portal (``portal.inject(match, fault)``): what a
misbehaving server, a firewall or a maintenance page sends instead of the article.

Each fault writes a whole HTTP/1.1 answer (or none) on the request handler's socket and
closes the connection, so the crawler's next request starts clean.
"""

from __future__ import annotations

import functools
import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterable

from fixture_portal.server import Fault

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
    return answer(200, gzip_bomb_body(inflated, chunk), (("Content-Encoding", "gzip"),))


@functools.lru_cache(maxsize=4)
def gzip_bomb_body(inflated: int, chunk: int = 1024 * 1024) -> bytes:
    """The body ``gzip_bomb`` sends: ``inflated`` bytes of zeros, gzip-compressed."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(chunk)
    parts = [compressor.compress(zeros) for _ in range(inflated // chunk)]
    parts.append(compressor.compress(bytes(inflated % chunk)))
    parts.append(compressor.flush())
    return b"".join(parts)


def gzipped(status: int, html: bytes) -> Fault:
    """An ordinary gzip-encoded answer (for faults that wrap real pages)."""
    return answer(status, gzip.compress(html, mtime=0), (("Content-Encoding", "gzip"),))


def hang(portal) -> Fault:
    """Accept the request and never answer, until the portal stops."""

    def fault(handler) -> None:
        portal.stopping.wait()
        handler.close_connection = True

    return fault


def held_until(gate: threading.Event) -> Fault:
    """Hold the request until ``gate`` is set (or the portal stops), then answer it as the
    portal does."""

    def fault(handler) -> None:
        portal = handler.server.portal
        while not gate.wait(0.05) and not portal.stopping.is_set():
            pass
        portal.serve_normally(handler)

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


# -- hostile pages that look like the portal's (bounds on what one crawl takes) ----------


def article_html(title: str, related: Iterable[str] = ()) -> bytes:
    """A minimal article page the extractor reads: headline, date line, sapo, body,
    author, furniture, and a "Tin khác" list linking ``related`` (paths or URLs)."""
    links = "".join(f'<li><a href="{url}">Tin {i}</a></li>' for i, url in enumerate(related))
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{title}</title></head><body><article><h1>{title}</h1>"
        "<p>Thứ Hai, 01/01/2024 08:00</p>"
        "<p>Đoạn mở đầu của bài viết, đủ dài để làm phần tóm tắt.</p>"
        f"<p>Nội dung chính của bài viết {title}.</p><p>V.H.N</p>"
        "<h3>Tiện ích thông tin</h3><h3>Tin khác</h3>"
        f"<ul>{links}</ul></article></body></html>"
    ).encode()


def listing_html(links: Iterable[str], next_url: str | None = None) -> bytes:
    """A listing page: article links and, if given, a rel=next link to the next page."""
    anchors = "".join(f'<li><a href="{url}">Bài {i}</a></li>' for i, url in enumerate(links))
    following = f'<a rel="next" href="{next_url}">Trang sau</a>' if next_url else ""
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Chuyên mục</title></head>"
        f"<body><ul>{anchors}</ul>{following}</body></html>"
    ).encode()


def article_chain(prefix: str = "/chain-") -> Fault:
    """Articles ``<prefix><n>.html``, each with one "Tin khác" link: the next, for ever."""

    def fault(handler) -> None:
        number = int(handler.path.removeprefix(prefix).removesuffix(".html"))
        body = article_html(f"Bài chuỗi {number}", [f"{prefix}{number + 1}.html"])
        _send(handler, 200, (("Content-Type", HTML),), body)

    return fault


def many_related(count: int, prefix: str = "/linked-") -> Fault:
    """An article whose "Tin khác" lists ``count`` unique articles ``<prefix><i>.html``."""
    body = article_html("Bài nhiều liên kết", (f"{prefix}{i}.html" for i in range(count)))
    return answer(200, body)


def listing_trap(base: str, pool: Iterable[str], per_page: int = 10) -> Fault:
    """A listing under ``base`` (``<base>page/<n>/``) without end: page n lists the n-th
    window of ``per_page`` articles of ``pool``, round and round, so that no page repeats
    the one before it but nothing is new after one turn (a calendar or a paginator that
    wraps around)."""
    pool = list(pool)

    def fault(handler) -> None:
        rest = handler.path.removeprefix(base).strip("/")
        number = int(rest.removeprefix("page/")) if rest else 1
        links = [pool[(number * per_page + j) % len(pool)] for j in range(per_page)]
        body = listing_html(links, f"{base}page/{number + 1}/")
        _send(handler, 200, (("Content-Type", HTML),), body)

    return fault
