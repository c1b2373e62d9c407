"""Article images: the original URL behind lazy-loading and CDNs, and captions."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit, urlunsplit

from lxml import etree

from crawler.extract.blocks import BLOCK_TAGS, TextBlock, contains
from crawler.urls import PortalUrls

# Lazy-loading plugins keep the real URL in one of these; src is a placeholder.
_SOURCE_ATTRIBUTES = ("data-src", "data-lazy-src", "data-original", "data-orig-file", "src")
# Jetpack's Photon CDN: https://i0.wp.com/<host>/<path>?fit=...
_PHOTON_HOST = re.compile(r"^i\d\.wp\.com$", re.IGNORECASE)
_CAPTION_MAX_CHARS = 500
# Walking up from an <img>: stop at containers that obviously hold more.
_STOP_TAGS = frozenset(("body", "article", "main", "section"))
_IMAGES = etree.XPath(".//img")  # compiled once


def image_url(element, page_url: str, urls: PortalUrls) -> str | None:
    """Absolute URL of the original image file, or None for placeholders."""
    for attribute in _SOURCE_ATTRIBUTES:
        value = (element.get(attribute) or "").strip()
        if value and not value.startswith("data:"):
            return original_image_url(urljoin(page_url, value), page_url, urls)
    return None


def original_image_url(url: str, page_url: str, urls: PortalUrls) -> str:
    """Undo Photon: ``i1.wp.com/<portal-host>/wp-content/x.jpg?fit=…`` → the portal's file."""
    parts = urlsplit(url)
    if _PHOTON_HOST.match(parts.hostname or ""):
        host, _, path = parts.path.lstrip("/").partition("/")
        if host:
            scheme = "https"
            if host.lower() in urls.hosts:
                scheme = urlsplit(page_url).scheme or "https"
            return urlunsplit((scheme, host, "/" + path, "", ""))
    return url


def caption_for(events, image_index: int, source_prefixes: tuple[str, ...] = ()) -> int | None:
    """Index of the text block captioning the image at ``image_index``, if any.

    The caption is the text inside the image's own box (a <figure>, a
    caption <div>, a one-image table or <center>) or, when the box holds no
    text, the very next block if it is short and all in italics.
    """
    image = events[image_index].element
    box = _image_box(image)
    following = image_index + 1
    if following >= len(events) or not isinstance(events[following], TextBlock):
        return None
    event = events[following]
    if box is not None and contains(box, event.element):
        return following
    is_source_line = event.text.startswith(tuple(source_prefixes)) if source_prefixes else False
    if event.emphasised and len(event.text) <= _CAPTION_MAX_CHARS and not is_source_line:
        return following
    return None


def _image_box(image):
    """Highest ancestor holding just this image and at most one text block."""
    box = None
    node = image.getparent()
    while node is not None and node.tag not in _STOP_TAGS:
        if len(_IMAGES(node)) != 1:
            break
        text = node.text_content().strip()
        if len(text) > _CAPTION_MAX_CHARS or _text_blocks(node) > 1:
            break
        box = node
        node = node.getparent()
    return box


def _text_blocks(node) -> int:
    """Block elements under ``node`` that carry text of their own."""
    count = 0
    for element in node.iter():
        if not isinstance(element.tag, str) or element.tag not in BLOCK_TAGS:
            continue
        own = (element.text or "").strip() or any(
            (child.tail or "").strip()
            or (
                isinstance(child.tag, str)
                and child.tag not in BLOCK_TAGS
                and child.text_content().strip()
            )
            for child in element
        )
        if own:
            count += 1
    return count
