"""Machine-readable documents: robots.txt, the WordPress core sitemap and the RSS feed."""

from __future__ import annotations

from email.utils import format_datetime
from xml.sax.saxutils import escape as xml_escape

from .htmlutil import SITE_NAME, excerpt
from .model import DISALLOWED_PREFIXES, Article, Site

SITEMAP_PAGE = 2000  # WordPress core sitemaps hold at most 2000 URLs each


def robots_txt(base: str) -> str:
    rules = "\n".join(f"Disallow: {prefix}" for prefix in DISALLOWED_PREFIXES)
    return (
        f"User-agent: *\n{rules}\nAllow: /wp-admin/admin-ajax.php\n\n"
        f"Sitemap: {base}wp-sitemap.xml\n"
    )


def sitemap_posts(site: Site) -> list[Article]:
    """Posts the core sitemap lists: every published, listed post (robots decides the rest)."""
    return [a for a in site.articles if a.listed]


def sitemap_index(site: Site, base: str) -> str:
    pages = max(1, -(-len(sitemap_posts(site)) // SITEMAP_PAGE))
    names = [f"wp-sitemap-posts-post-{n}.xml" for n in range(1, pages + 1)]
    names += ["wp-sitemap-posts-page-1.xml", "wp-sitemap-taxonomies-category-1.xml"]
    entries = "".join(f"<sitemap><loc>{base}{name}</loc></sitemap>" for name in names)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}'
        "</sitemapindex>\n"
    )


def _urlset(locs: list[str]) -> str:
    # Like WordPress core: no <lastmod> (which would also betray the alt skin's hidden dates).
    entries = "".join(f"<url><loc>{xml_escape(loc)}</loc></url>" for loc in locs)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>\n'
    )


def sitemap_post_page(site: Site, base: str, number: int) -> str | None:
    posts = sitemap_posts(site)[(number - 1) * SITEMAP_PAGE : number * SITEMAP_PAGE]
    if number < 1 or not posts:
        return None
    return _urlset([a.url(base) for a in posts])


def sitemap_pages(base: str) -> str:
    return _urlset([base, f"{base}lien-he/"])


def sitemap_categories(site: Site, base: str) -> str:
    return _urlset([base + s.path for s in site.sections if s.listed])


def rss(site: Site, base: str) -> str:
    items = []
    for a in site.latest(10):
        section = site.section(a.section)
        items.append(f"""<item>
<title>{xml_escape(a.title)}</title>
<link>{a.url(base)}</link>
<dc:creator><![CDATA[{a.author or "Ban biên tập"}]]></dc:creator>
<pubDate>{format_datetime(a.published)}</pubDate>
<category><![CDATA[{section.name}]]></category>
<guid isPermaLink="true">{a.url(base)}</guid>
<description><![CDATA[{excerpt(a)}]]></description>
</item>""")
    newest = site.latest(1)[0].published
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
<title>{xml_escape(SITE_NAME)}</title>
<atom:link href="{base}feed/" rel="self" type="application/rss+xml" />
<link>{base}</link>
<description>Thông tin chính thống của thành phố Hải Phòng</description>
<lastBuildDate>{format_datetime(newest)}</lastBuildDate>
<language>vi</language>
{chr(10).join(items)}
</channel>
</rss>
"""
