"""A deterministic, local, WordPress-like copy of the Hải Phòng news portal, for tests,
demos and benchmarks.

    site = build_site(seed=1, n_articles=160)
    with FixturePortal(site, theme="classic") as portal:
        items = site.expected_items(theme="classic", base_url=portal.base_url)

``site`` also answers where every hard case lives (``site.hard_cases``, ``aliases()``,
``tin_khac_only_urls()``, ``expected_bad_pages()``, ``disallowed_urls()``, ``trap_prefix``…).

For incremental crawls, ``site.evolve(new=3, changed=2)`` is the same portal a few hours
later (``new_urls()``, ``changed_urls()``, ``evolution``); ``portal.replace_site(evolved)``
serves it at the same base URL, and ``/wp-json/wp/v2/posts?modified_after=…`` names them.
"""

from .generate import build_site
from .model import Article, Evolution, Site
from .server import FixturePortal

__all__ = ["Article", "Evolution", "FixturePortal", "Site", "build_site"]
