"""How a response goes on the wire: gzip or not, chunked or Content-Length.

The choice is a pure function of the URL path, so tests can predict it: most text responses
are gzipped when the client accepts it, some go out plain (as behind a proxy that skips
them), and some are sent with chunked transfer encoding in several chunks.
"""

from __future__ import annotations

import zlib

COMPRESSIBLE = (
    "text/",
    "application/xml",
    "application/rss+xml",
    "application/javascript",
    "application/json",
)
CHUNKS = 3  # a chunked body goes out in this many pieces (fewer if it is tiny)


def _bucket(path: str, modulus: int) -> int:
    return zlib.crc32(path.encode("utf-8")) % modulus


def gzip_exempt(path: str) -> bool:
    """About one text response in six is sent uncompressed whatever the client accepts."""
    return _bucket(path, 6) == 0


def is_chunked(path: str) -> bool:
    """About one response in four uses Transfer-Encoding: chunked."""
    return _bucket(path, 4) == 1


def compressible(content_type: str) -> bool:
    return content_type.startswith(COMPRESSIBLE)


def accepts_gzip(accept_encoding: str | None) -> bool:
    """RFC 9110 Accept-Encoding: gzip (or *) with a non-zero quality."""
    if not accept_encoding:
        return False
    qualities: dict[str, float] = {}
    for item in accept_encoding.split(","):
        name, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0  # an unreadable weight: treat the coding as refused
        qualities[name.lower()] = quality
    if "gzip" in qualities:
        return qualities["gzip"] > 0
    return qualities.get("*", 0) > 0


def chunk_frames(body: bytes) -> list[bytes]:
    """The body as chunked-encoding frames, terminating zero-size chunk included."""
    size = max(1, -(-len(body) // CHUNKS))
    frames = [
        b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size])
        for i in range(0, len(body), size)
    ]
    return frames + [b"0\r\n\r\n"]
