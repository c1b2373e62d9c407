"""The fixture portal at another article size (the benches' ``--article-kib``): pages of
about that size, the same site otherwise, and items that still equal its ground truth."""

from __future__ import annotations

import statistics

from fixture_portal import build_site, expected_items, render_article
from fixture_portal.pages import Router
from tests.extraction import extract_item

BASE = "http://127.0.0.1:8000/"


def test_articles_padded_to_62_kib_extract_to_their_truth():
    plain = build_site(seed=3, n_articles=150)
    assert build_site(seed=3, n_articles=150, article_kib=None) == plain
    padded = build_site(seed=3, n_articles=150, article_kib=62)
    router = Router(padded, "classic", BASE)
    ordinary = [a for a in padded.articles if a.kind == "article" and not a.quirk]
    sizes = [len(router.resolve(f"/{a.slug}.html").body) / 1024 for a in ordinary]
    assert 58 < statistics.median(sizes) < 66
    # Only bodies grow: the same posts, titles and links.
    assert [(a.slug, a.title, a.related) for a in padded.articles] == [
        (a.slug, a.title, a.related) for a in plain.articles
    ]
    seed = padded.article(padded.hard_cases["seed"])
    assert seed.paragraphs == plain.article(plain.hard_cases["seed"]).paragraphs
    truth = expected_items(padded, "classic", BASE)
    # (Not the scripted section's: their Tin khác is built by a script, in a browser.)
    static = [a for a in ordinary if not padded.is_scripted(a)]
    for article in static[:: len(static) // 12]:
        url = f"{BASE}{article.slug}.html"
        html = render_article(padded, article.slug, theme="classic", base_url=BASE)
        item = extract_item(html, url, BASE)
        assert {key: item[key] for key in truth[url]} == truth[url], url
        assert len(item["body"].encode()) > 40_000
