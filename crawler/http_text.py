"""Decoding a fetched page into text, mending a wrong declared charset."""

from __future__ import annotations

from scrapy.http import TextResponse

# Charsets a server declares by default when it knows nothing better.
_LEGACY_DEFAULTS = frozenset(
    ("latin-1", "latin1", "iso-8859-1", "cp1252", "windows-1252", "ascii", "us-ascii")
)


def decode_html(response: TextResponse) -> tuple[str, bool]:
    """The page's text, and whether the declared charset was overruled.

    Vietnamese text is never Latin-1: a page declaring a Western default
    whose bytes are valid UTF-8 with non-ASCII characters is UTF-8.
    """
    declared = (response.encoding or "").lower().replace("_", "-")
    if declared not in _LEGACY_DEFAULTS or response.body.isascii():
        return response.text, False
    try:
        text = response.body.decode("utf-8")
    except UnicodeDecodeError:
        # Not UTF-8 after all: the declared charset stands.
        return response.text, False
    return text, True
