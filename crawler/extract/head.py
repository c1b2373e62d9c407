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
_META_CONTENT = tuple(
    etree.XPath(f"//meta[@{attr}=$name]/@content") for attr in ("property", "name", "itemprop")
)
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
    for name in names:
        for content in _META_CONTENT:
            found = content(doc, name=name)
            if found and found[0].strip():
                return found[0].strip()
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
    meta = HeadMeta(
        title=clean_text(titles[0].text_content()) or None if titles else None,
        canonical=canonical[0].strip() if canonical else None,
        og_url=_meta(doc, "og:url"),
        og_title=clean_text(_meta(doc, "og:title")) or None,
        section=clean_text(_meta(doc, "article:section")) or None,
        published=_meta(doc, "article:published_time", "datePublished") or ld.get("datePublished"),
        modified=_meta(doc, "article:modified_time", "og:updated_time", "dateModified")
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
