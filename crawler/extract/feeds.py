"""Machine-readable link lists: sitemaps (and their indexes) and RSS/Atom feeds."""

from __future__ import annotations

from io import BytesIO

from lxml import etree
from scrapy.utils.sitemap import Sitemap


def sitemap_entries(body: bytes) -> tuple[str, list[str]]:
    """``(kind, locations)`` of a sitemap: kind is "sitemapindex" or "urlset"."""
    sitemap = Sitemap(body)
    return sitemap.type, [entry["loc"] for entry in sitemap if entry.get("loc")]


def feed_links(body: bytes) -> list[str]:
    """Item links of an RSS 2.0 or Atom feed, in feed order."""
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True)
    root = etree.parse(BytesIO(body), parser).getroot()
    if root is None:
        return []
    links = root.xpath("//item/link/text()")
    links += root.xpath(
        "//*[local-name()='entry']/*[local-name()='link'][not(@rel) or @rel='alternate']/@href"
    )
    return [link.strip() for link in links if link.strip()]
