"""Ground truth: the item each reachable, allowed article must become.

Crawl-dependent fields (fetched_url, crawl_id, crawled_at, warc) are left out. What a
theme does not show is null: the alt theme shows neither the post id nor a modified date.
"""

from __future__ import annotations

import hashlib

from .model import Article, Site, check_base_url, check_theme


def expected_items(site: Site, theme: str, base_url: str) -> dict[str, dict]:
    """URL -> expected item, for every article a crawler of ``site`` served in ``theme`` at
    ``base_url`` (ending in "/") must archive as an item."""
    check_theme(theme)
    check_base_url(base_url)
    return {
        a.url(base_url): expected_item(site, a, theme, base_url)
        for a in site.articles
        if a.kind == "article" and not a.disallowed
    }


def expected_item(site: Site, a: Article, theme: str, base_url: str) -> dict:
    section = site.section(a.section)
    body = "\n\n".join(a.paragraphs)
    classic = theme == "classic"
    return {
        "url": a.url(base_url),
        "post_id": a.id if classic else None,
        "section": {"name": section.name, "slug": section.slug},
        "title": a.title,
        "sapo": a.sapo,
        "body": body,
        "author": a.author,
        "published_at": a.published.isoformat(),
        "modified_at": a.modified.isoformat() if classic and a.modified else None,
        "images": [{"url": base_url + img.path, "caption": img.caption} for img in a.images],
        "related": [{"url": link.canonical(base_url), "title": link.title} for link in a.related],
        "source": a.goc or a.source_note,
        "language": "vi",
        "content_sha256": hashlib.sha256(f"{a.title}\n\n{a.sapo}\n\n{body}".encode()).hexdigest(),
    }
