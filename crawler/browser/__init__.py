"""Rendering the pages that need JavaScript, and archiving everything the browser fetched.

The spider marks a request with ``request.meta[RENDER_META] = <reason>``; the download
handler (``crawler.browser.handler``) sends it through Chromium (scrapy-playwright) instead
of the plain HTTP path, and archives every network response of the page.
"""

from __future__ import annotations

#: request.meta key: why the page is rendered ("url", "section", "missing_related").
RENDER_META = "browser_render"


def render_meta(reason: str) -> dict[str, str]:
    """The meta that sends a request through the browser."""
    return {RENDER_META: reason}
