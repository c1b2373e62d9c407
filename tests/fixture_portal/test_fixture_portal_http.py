"""The fixture portal over real HTTP: transport encodings, statuses, traps, logging, shutdown."""

from __future__ import annotations

import gzip
import http.client
import re
import socket
import threading
from urllib.parse import urlsplit

import pytest

from fixture_portal import FixturePortal, build_site
from fixture_portal.transport import gzip_exempt, is_chunked


@pytest.fixture(scope="module")
def site():
    return build_site(seed=1, n_articles=160)


@pytest.fixture(scope="module", params=["classic", "alt"])
def portal(site, request):
    with FixturePortal(site, theme=request.param) as running:
        yield running


def get(portal, path, method="GET", **headers):
    """One request on a fresh connection; returns (response, raw body as sent)."""
    connection = http.client.HTTPConnection(portal.host, portal.port, timeout=10)
    try:
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


def article_paths(site, predicate):
    return [
        f"/{a.path}"
        for a in site.articles
        if a.kind == "article" and not a.quirk and predicate(f"/{a.path}")
    ]


def test_gzip_when_accepted_and_not_exempt(site, portal):
    path = article_paths(site, lambda p: not gzip_exempt(p))[0]
    response, body = get(portal, path, **{"Accept-Encoding": "gzip, deflate"})
    assert response.status == 200
    assert response.getheader("Content-Encoding") == "gzip"
    assert response.getheader("Vary") == "Accept-Encoding"
    assert gzip.decompress(body) == portal.router.resolve(path).body
    response, body = get(portal, path)
    assert response.getheader("Content-Encoding") is None
    assert body == portal.router.resolve(path).body
    response, _ = get(portal, path, **{"Accept-Encoding": "gzip;q=0, br"})
    assert response.getheader("Content-Encoding") is None


def test_some_html_is_never_gzipped(site, portal):
    path = article_paths(site, gzip_exempt)[0]
    response, body = get(portal, path, **{"Accept-Encoding": "gzip"})
    assert response.getheader("Content-Encoding") is None and b"<html" in body


def test_chunked_in_several_chunks_else_content_length(site, portal):
    path = article_paths(site, is_chunked)[0]
    with socket.create_connection((portal.host, portal.port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"\r\nTransfer-Encoding: chunked" in head and b"Content-Length" not in head
    sizes = []
    while True:
        line, _, body = body.partition(b"\r\n")
        size = int(line, 16)
        sizes.append(size)
        body = body[size + 2 :]
        if size == 0:
            break
    assert len(sizes) >= 3 and body == b""
    plain = article_paths(site, lambda p: not is_chunked(p))[0]
    response, body = get(portal, plain)
    assert response.getheader("Transfer-Encoding") is None
    assert int(response.getheader("Content-Length")) == len(body) > 0


def test_repeated_headers_and_conditional_get(site, portal):
    path = f"/{site.articles[0].path}"
    response, _ = get(portal, path)
    assert len(response.msg.get_all("Set-Cookie")) == 2
    assert len(response.msg.get_all("Link")) == 2
    etag, modified = response.getheader("ETag"), response.getheader("Last-Modified")
    assert get(portal, path, **{"If-None-Match": etag})[0].status == 304
    assert get(portal, path, **{"If-None-Match": '"other"'})[0].status == 200
    if portal.theme == "alt":
        assert modified is None  # the alt skin shows no modification date anywhere
    else:
        assert get(portal, path, **{"If-Modified-Since": modified})[0].status == 304


def test_statuses_and_redirects(site, portal):
    base = portal.base_url
    assert get(portal, urlsplit(site.not_found_url(base)).path)[0].status == 404
    for _ in range(2):
        assert get(portal, urlsplit(site.server_error_url(base)).path)[0].status == 500
    for old, new in site.aliases(base).items():
        response, _ = get(portal, urlsplit(old).path)
        assert response.status == 301 and response.getheader("Location") == new
    first, second = site.redirect_loop_urls(base)
    assert get(portal, urlsplit(first).path)[0].getheader("Location") == second
    assert get(portal, urlsplit(second).path)[0].getheader("Location") == first
    article = site.articles[0]
    response, _ = get(portal, f"/{article.path}/")
    assert response.status == 301 and response.getheader("Location") == article.url(base)
    response, _ = get(portal, f"/?p={article.id}")
    assert response.getheader("Location") == article.url(base)
    response, body = get(portal, f"/{article.path}/amp")
    assert f'<link rel="canonical" href="{article.url(base)}">'.encode() in body
    response, body = get(portal, f"/{article.path}?utm_source=facebook&utm_medium=social")
    assert response.status == 200 and article.title.encode() in body


def test_bad_input_pages(site, portal):
    pages = {p["kind"]: urlsplit(p["url"]).path for p in site.expected_bad_pages(portal.base_url)}
    response, body = get(portal, pages["empty"])
    assert response.status == 200 and body == b""
    response, body = get(portal, pages["not_html"])
    assert response.getheader("Content-Type") == "application/pdf" and body.startswith(b"%PDF-")
    response, body = get(portal, pages["no_title"])
    assert b"<title" not in body and b"<h1" not in body and b"og:title" not in body
    response, body = get(portal, f"/{site.hard_cases['wrong_charset']}.html")
    assert response.getheader("Content-Type") == "text/html; charset=iso-8859-1"
    assert site.article(site.hard_cases["wrong_charset"]).title in body.decode("utf-8")
    response, body = get(portal, f"/{site.hard_cases['no_charset']}.html")
    assert response.getheader("Content-Type") == "text/html"
    assert not re.search(rb"charset", body.split(b"</head>")[0], re.I)


def test_robots_sitemap_feed_and_images(site, portal):
    response, body = get(portal, "/robots.txt")
    assert b"Disallow: /wp-admin/\nDisallow: /noi-bo/\nDisallow: /noi-bo-\n" in body
    response, body = get(portal, "/wp-sitemap.xml", **{"Accept-Encoding": "identity"})
    for loc in re.findall(rb"<loc>(.*?)</loc>", body):
        assert get(portal, urlsplit(loc.decode()).path)[0].status == 200
    assert b"<rss" in get(portal, "/feed/")[1]
    image = next(a.images[0] for a in site.articles if a.images)
    response, body = get(portal, f"/{image.path}")
    assert response.getheader("Content-Type") == "image/jpeg" and body[:2] == b"\xff\xd8"


def test_listing_trap_is_endless(site, portal):
    posts = site.listing("lich-cong-tac")
    path = "/chuyen-muc/lich-cong-tac/"
    for number in range(1, 31):
        response, body = get(portal, path)
        assert response.status == 200
        assert all(a.title.encode() in body for a in posts)  # the same posts, every page
        path = f"{site.trap_prefix}{number + 1}/"
        assert f'href="{portal.base_url}{path[1:]}"'.encode() in body
    assert get(portal, f"{site.trap_prefix}1000000/")[0].status == 200
    response, body = get(portal, "/lich/?ngay=1999-12-31")
    assert b"ngay=2000-01-01" in body and b"ngay=1999-12-30" in body
    last = site.listing_pages("kinh-te")
    assert get(portal, f"/chuyen-muc/kinh-te/page/{last}/")[0].status == 200
    assert get(portal, f"/chuyen-muc/kinh-te/page/{last + 1}/")[0].status == 404


def test_request_log_records_every_request(site, portal):
    before = len(portal.request_log)
    get(portal, "/chuyen-muc/kinh-te/?utm_source=x", **{"User-Agent": "fixture-test"})
    response, body = get(portal, "/robots.txt", method="HEAD")
    assert body == b"" and int(response.getheader("Content-Length")) > 0
    assert get(portal, "/wp-login.php", method="POST")[0].status == 501
    method, target, headers = portal.request_log[before]
    assert (method, target) == ("GET", "/chuyen-muc/kinh-te/?utm_source=x")
    assert headers["User-Agent"] == "fixture-test"
    assert [entry[:2] for entry in portal.request_log[before + 1 :]] == [
        ("HEAD", "/robots.txt"),
        ("POST", "/wp-login.php"),
    ]


def test_stop_closes_idle_connections_and_joins_threads(site):
    threads_before = set(threading.enumerate())
    portal = FixturePortal(site, theme="alt")
    idle = http.client.HTTPConnection(portal.host, portal.port, timeout=10)
    idle.request("GET", "/")
    idle.getresponse().read()  # keep-alive: the handler thread now waits for the next request
    portal.stop()
    portal.stop()  # idempotent
    assert not set(threading.enumerate()) - threads_before
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((portal.host, portal.port), timeout=2)
    idle.close()
