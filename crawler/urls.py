"""URL canonicalisation, scope and link classification for one portal.

Pure functions over strings: the spider, the extractor and the pipelines all
agree on what "the same article" is by going through :class:`PortalUrls`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

_DEFAULT_PORTS = {"http": 80, "https": 443}
# AMP twins: /slug.html/amp, /slug.html/amp/ (and the ?amp / ?amp=1 query form).
_AMP_SUFFIX = re.compile(r"(\.html?)/amp/?$", re.IGNORECASE)
_TRAILING_SLASH_AFTER_HTML = re.compile(r"(\.html?)/+$", re.IGNORECASE)
# WordPress pagination: /page/N/ in the path, ?paged=N or ?page=N in the query.
_PATH_PAGE = re.compile(r"/page/(\d+)/?$")
_QUERY_PAGE_KEYS = ("paged", "page")
# Answers remembered per PortalUrls: a crawl asks about the same links on page after page
# (menus, sidebars, "Tin khác"). Bounded (under 1 MB each): emptied when full, so memory
# stays flat.
_CACHE_MAX = 2048


def host_key(url: str) -> str:
    """``host[:port]`` of a URL, lower-cased, default ports dropped."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port
    if port is None or port == _DEFAULT_PORTS.get(parts.scheme.lower()):
        return host
    return f"{host}:{port}"


def is_private_host(host: str) -> bool:
    """True for IP literals that are private, loopback, link-local or reserved."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host in {"localhost", "localhost.localdomain"}
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
        or address.is_multicast
    )


@dataclass(frozen=True)
class PortalUrls:
    """What is in scope for one portal, and how its URLs are made canonical."""

    hosts: frozenset[str]
    article_path: re.Pattern[str]
    tracking_params: tuple[str, ...]
    _canonical: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)
    _scope: dict[str, bool] = field(default_factory=dict, init=False, repr=False, compare=False)
    _article: dict[str, bool] = field(default_factory=dict, init=False, repr=False, compare=False)

    def canonical(self, url: str) -> str:
        """The canonical form of ``url``.

        Fragments and tracking parameters go, scheme and host are lower-cased,
        query arguments sorted (w3lib); for in-scope article URLs the AMP twin
        and a trailing slash after ``.html`` are folded into the article URL.
        """
        return _cached(self._canonical, url, self._canonical_form)

    def _canonical_form(self, url: str) -> str:
        url = canonicalize_url(url.strip(), keep_fragments=False)
        parts = urlsplit(url)
        query = [
            (key, value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
            if not self._is_tracking(key)
        ]
        path = parts.path or "/"
        if _AMP_SUFFIX.search(path) or _TRAILING_SLASH_AFTER_HTML.search(path):
            path = _TRAILING_SLASH_AFTER_HTML.sub(r"\1", _AMP_SUFFIX.sub(r"\1", path))
        if path.lower().endswith((".html", ".htm")):
            query = [(k, v) for k, v in query if k.lower() != "amp"]
        netloc = host_key(url)
        return urlunsplit((parts.scheme.lower(), netloc, path, urlencode(query), ""))

    def _is_tracking(self, key: str) -> bool:
        key = key.lower()
        return any(
            key == name or (name.endswith("_") and key.startswith(name))
            for name in self.tracking_params
        )

    def in_scope(self, url: str) -> bool:
        """Same portal host (and port), http(s) only.

        Private, loopback and link-local addresses are in scope only when the
        portal itself is configured there (a local mirror or test server).
        """
        return _cached(self._scope, url, self._in_scope)

    def _in_scope(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
            return False
        return host_key(url) in self.hosts

    def is_article(self, url: str) -> bool:
        return _cached(self._article, url, self._is_article)

    def _is_article(self, url: str) -> bool:
        return self.in_scope(url) and bool(self.article_path.search(urlsplit(url).path))

    def slug(self, url: str) -> str:
        """Last non-empty path segment (the WordPress slug of a post or category)."""
        segments = [s for s in urlsplit(url).path.split("/") if s]
        if segments and _PATH_PAGE.search("/" + "/".join(segments[-2:]) + "/"):
            segments = segments[:-2]
        return segments[-1] if segments else ""


def _cached(cache: dict, url: str, compute):
    value = cache.get(url)
    if value is None:
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        value = cache[url] = compute(url)
    return value


class UrlSet:
    """A set of URLs kept as 16-byte digests, for what a crawl remembers of every page until
    its end: a digest costs about 56 bytes, a URL string 100 to 250. Two URLs share a digest
    with odds of 2**-128 (Scrapy's duplicate filter works the same way)."""

    __slots__ = ("_digests",)

    def __init__(self, urls=()):
        self._digests = {_digest(url) for url in urls}

    def add(self, url: str) -> None:
        self._digests.add(_digest(url))

    def update(self, urls) -> None:
        self._digests.update(_digest(url) for url in urls)

    def __contains__(self, url: str) -> bool:
        return _digest(url) in self._digests

    def issuperset(self, urls) -> bool:
        return all(url in self for url in urls)

    def copy(self) -> UrlSet:
        copied = UrlSet()
        copied._digests = set(self._digests)
        return copied

    def __ior__(self, other: UrlSet) -> UrlSet:
        self._digests |= other._digests
        return self

    def __len__(self) -> int:
        return len(self._digests)

    def __eq__(self, other) -> bool:
        return isinstance(other, UrlSet) and self._digests == other._digests

    __hash__ = None  # mutable

    def __getstate__(self):
        return self._digests

    def __setstate__(self, digests) -> None:
        self._digests = digests


def _digest(url: str) -> bytes:
    return hashlib.blake2b(url.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def listing_page_number(url: str) -> int:
    """Page number of a listing URL (1 when it names none)."""
    parts = urlsplit(url)
    match = _PATH_PAGE.search(parts.path)
    if match:
        return int(match.group(1))
    for key, value in parse_qsl(parts.query):
        if key in _QUERY_PAGE_KEYS and value.isdigit():
            return int(value)
    return 1


def listing_base(url: str) -> str:
    """A listing URL without its page token: the identity of the listing."""
    parts = urlsplit(url)
    path = _PATH_PAGE.sub("/", parts.path)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in _QUERY_PAGE_KEYS]
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), ""))
