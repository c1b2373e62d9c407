"""The cues the extractor looks for; defaults live in settings/default.py."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from lxml.cssselect import CSSSelector


@dataclass(frozen=True)
class ExtractionRules:
    """Per-portal extraction cues.

    The extractor finds an article's parts by robust cues (document order,
    the date pattern, heading texts, WordPress conventions); ``selectors``
    are optional per-portal CSS selectors that take precedence when set.
    """

    SELECTOR_KEYS = ("title", "content", "sapo", "author", "related", "section", "menu")

    # Text that starts the page furniture after the article body.
    content_end_markers: tuple[str, ...] = ("Tiện ích thông tin", "Tin khác")
    # Headings of the "other news" block.
    related_headings: tuple[str, ...] = ("Tin khác",)
    # Labels of a source line below the author ("Nguồn. haiphong.gov.vn").
    source_prefixes: tuple[str, ...] = ("Nguồn",)
    # Link texts in the header line that point at the original source.
    original_link_texts: tuple[str, ...] = ("Gốc",)
    # Paragraphs that are furniture wherever they appear.
    furniture_patterns: tuple[re.Pattern[str], ...] = ()
    selectors: dict[str, str] = field(default_factory=dict)


@functools.lru_cache(maxsize=64)
def css(selector: str) -> CSSSelector:
    """A configured CSS selector, translated to XPath once (``element.cssselect(selector)``
    translates it on every call); call the result with the element to search."""
    return CSSSelector(selector, translator="html")
