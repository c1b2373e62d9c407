"""A deterministic, local, WordPress-like copy of the Hải Phòng news portal, for tests,
demos and benchmarks.

    site = build_site(seed=1, n_articles=160)
    with FixturePortal(site, theme="classic") as portal:
        items = site.expected_items(theme="classic", base_url=portal.base_url)

``site`` also answers where every hard case lives (``site.hard_cases``, ``aliases()``,
``tin_khac_only_urls()``, ``expected_bad_pages()``, ``disallowed_urls()``, ``trap_prefix``…).
"""

from .generate import build_site
from .model import Article, Site
from .server import FixturePortal

__all__ = ["Article", "FixturePortal", "Site", "build_site"]
