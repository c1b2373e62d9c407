"""A deterministic, local, WordPress-like copy of the Hải Phòng news portal, for tests,
demos and benchmarks.

    site = build_site(seed=1, n_articles=160)
    with FixturePortal(site, theme="classic") as portal:
        items = expected_items(site, theme="classic", base_url=portal.base_url)

``site`` also answers where every hard case lives (``site.hard_cases``, ``aliases()``,
``tin_khac_only_urls()``, ``expected_bad_pages()``, ``disallowed_urls()``, ``trap_prefix``…).

``render_article(site, slug, theme, base_url)`` is an article page's HTML.

For incremental crawls, ``evolve_site(site, new=3, changed=2)`` is the same portal a few hours
later (``new_urls()``, ``changed_urls()``, ``evolution``); ``portal.replace_site(evolved)``
serves it at the same base URL, and ``/wp-json/wp/v2/posts?modified_after=…`` names them.
"""

from .evolve import evolve_site
from .generate import build_site
from .model import Article, Evolution, Site
from .pages import render_article
from .server import FixturePortal
from .truth import expected_items

__all__ = [
    "Article",
    "Evolution",
    "FixturePortal",
    "Site",
    "build_site",
    "evolve_site",
    "expected_items",
    "render_article",
]
