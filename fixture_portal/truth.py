"""Ground truth: the item each reachable, allowed article must become.

Crawl-dependent fields (fetched_url, crawl_id, crawled_at, warc) are left out. What a
page does not show is null, never taken from elsewhere: the alt theme shows neither the post
id nor a modified date; a post without a lead has no sapo; a page that leaves out the cues
naming its section (``Article.absent``) has a partial or no section.
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
    body = "\n\n".join(a.paragraphs)
    classic = theme == "classic"
    sapo = a.sapo or ""
    return {
        "url": a.url(base_url),
        "post_id": a.id if classic else None,
        "section": expected_section(site, a, theme),
        "title": a.title,
        "sapo": a.sapo,
        "body": body,
        "author": a.author,
        "published_at": a.published.isoformat(),
        # The classic theme shows the modified time in a meta tag only.
        "modified_at": (
            a.modified.isoformat() if classic and a.modified and a.shows("meta") else None
        ),
        "images": [{"url": base_url + img.path, "caption": img.caption} for img in a.images],
        "related": [{"url": link.canonical(base_url), "title": link.title} for link in a.related],
        "source": a.goc or a.source_note,
        "language": "vi",
        "content_sha256": hashlib.sha256(f"{a.title}\n\n{sapo}\n\n{body}".encode()).hexdigest(),
    }


def expected_section(site: Site, a: Article, theme: str) -> dict | None:
    """What the page says of its section. A listed section is linked (breadcrumb, category
    link) and named in the menu, so article:section finds its link too; an unlisted one is
    only named (breadcrumb text, article:section) and its slug is only in the post classes.
    The alt theme has a breadcrumb and nothing else."""
    section = site.section(a.section)
    named = a.shows("breadcrumb") or (theme == "classic" and a.shows("meta"))
    if section.listed and named:
        return {"name": section.name, "slug": section.slug}
    if section.listed and theme == "classic" and a.shows("category_link"):
        return {"name": section.name, "slug": section.slug}
    slug = section.slug if theme == "classic" and a.shows("post_class") else None
    if not named and slug is None:
        return None
    return {"name": section.name if named else None, "slug": slug}
