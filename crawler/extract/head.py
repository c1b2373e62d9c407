"""Machine-readable page metadata: canonical link, og:/article: tags, JSON-LD.

All of it is optional: WordPress emits most of it, other themes none.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass

from lxml import etree

from crawler.extract.text import clean_text

logger = logging.getLogger(__name__)

# XPath expressions compiled once (``doc.xpath(text)`` compiles on every call).
_POST_ID_PATTERNS = (
    (etree.XPath("//link[@rel='shortlink']/@href"), re.compile(r"[?&]p=(\d+)")),
    (
        etree.XPath("//link[@rel='alternate'][contains(@href, '/wp/v2/posts/')]/@href"),
        re.compile(r"/wp/v2/posts/(\d+)"),
    ),
    (etree.XPath("//body/@class"), re.compile(r"(?:^|\s)postid-(\d+)(?:\s|$)")),
    (etree.XPath("//article/@id"), re.compile(r"^post-(\d+)$")),
)
_BASE_HREF = etree.XPath("//base/@href")
_METAS = etree.XPath("//meta[@content]")
_META_ATTRIBUTES = ("property", "name", "itemprop")
_JSON_LD = etree.XPath("//script[@type='application/ld+json']/text()")
_TITLE = etree.XPath("//title")
_CANONICAL = etree.XPath("//link[@rel='canonical']/@href")


@dataclass
class HeadMeta:
    title: str | None = None
    canonical: str | None = None
    og_url: str | None = None
    og_title: str | None = None
    section: str | None = None
    published: str | None = None
    modified: str | None = None
    ld_headline: str | None = None
    post_id: int | None = None


def base_href(doc, url: str) -> str:
    found = _BASE_HREF(doc)
    return found[0].strip() if found and found[0].strip() else url


def _meta(doc, *names: str) -> str | None:
    """The first non-blank content of a <meta> whose property, name or itemprop (in that
    order) is one of ``names`` (in that order)."""
    return _first(_meta_index(doc), *names)


def _meta_index(doc) -> dict[tuple[str, str], str]:
    """``(attribute, value) → content`` of the first <meta> with that attribute value: the
    document's metas read once rather than once per name and attribute."""
    index: dict[tuple[str, str], str] = {}
    for element in _METAS(doc):
        for attribute in _META_ATTRIBUTES:
            value = element.get(attribute)
            if value is not None:
                index.setdefault((attribute, value), element.get("content"))
    return index


def _first(index: dict[tuple[str, str], str], *names: str) -> str | None:
    for name in names:
        for attribute in _META_ATTRIBUTES:
            content = index.get((attribute, name))
            if content and content.strip():
                return content.strip()
    return None


def _json_ld(doc) -> dict:
    """Headline and dates from JSON-LD (Yoast's graph or a plain Article)."""
    found: dict = {}
    for script in _JSON_LD(doc):
        try:
            data = json.loads(script)
        except ValueError:
            logger.debug("ignoring malformed JSON-LD block")
            continue
        nodes = data.get("@graph", [data]) if isinstance(data, dict) else data
        for node in nodes if isinstance(nodes, list) else []:
            if not isinstance(node, dict):
                continue
            kind = node.get("@type")
            kinds = kind if isinstance(kind, list) else [kind]
            if any(k in ("Article", "NewsArticle", "BlogPosting") for k in kinds):
                for key in ("headline", "datePublished", "dateModified"):
                    if isinstance(node.get(key), str):
                        found.setdefault(key, node[key])
    return found


def read(doc) -> HeadMeta:
    ld = _json_ld(doc)
    titles = _TITLE(doc)
    canonical = _CANONICAL(doc)
    metas = _meta_index(doc)
    meta = HeadMeta(
        title=clean_text(titles[0].text_content()) or None if titles else None,
        canonical=canonical[0].strip() if canonical else None,
        og_url=_first(metas, "og:url"),
        og_title=clean_text(_first(metas, "og:title")) or None,
        section=clean_text(_first(metas, "article:section")) or None,
        published=_first(metas, "article:published_time", "datePublished")
        or ld.get("datePublished"),
        modified=_first(metas, "article:modified_time", "og:updated_time", "dateModified")
        or ld.get("dateModified"),
        ld_headline=clean_text(ld.get("headline")) or None,
    )
    for xpath, pattern in _POST_ID_PATTERNS:
        for value in xpath(doc):
            match = pattern.search(value)
            if match:
                meta.post_id = int(match.group(1))
                return meta
    return meta
