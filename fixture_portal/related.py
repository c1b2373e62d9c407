"""The "Tin khác" lists: 8 links per article, and the hard cases planted in them.

Like a real "other news" widget each list shows the section's neighbouring posts. Links
are written the way they are found on the live site: mostly canonical, some with tracking
queries, fragments, a trailing slash or the AMP suffix, some off-site. Hard-case links
(old slugs, 404, 500, redirect loop, bad pages, Tin-khác-only articles) replace entries
of chosen host articles, so each is reachable from exactly the pages described here.
"""

from __future__ import annotations

import bisect
import random

from .model import Link
from .text import TextGen, slugify

SIZE = 8
VARIANTS = (
    "?utm_source=facebook&utm_medium=social",
    "?fbclid=IwAR0x7Ksd9Yf2mQe5Lh3Zp_1aB",
    "#comments",
    "/",
    "/amp",
)


def assign(
    rng: random.Random,
    gen: TextGen,
    drafts: list[dict],
    hosts: dict[str, dict],
    cases: dict[str, dict],
    alias_targets: list[dict],
    specials: dict[str, tuple[str, str]],
) -> None:
    pool = sorted(
        (
            d
            for d in drafts
            if d["kind"] == "article" and d["listed"] and not d["slug"].startswith("noi-bo-")
        ),
        key=_key,
    )
    by_section: dict[str, list[dict]] = {}
    for d in pool:
        by_section.setdefault(d["section"], []).append(d)
    newest_first = pool[::-1]
    targets: dict[str, list[dict]] = {}
    for d in drafts:
        if d["kind"] == "article":
            targets[d["slug"]] = _neighbours(d, by_section.get(d["section"], []), newest_first)
            d["related"] = [_link(rng, gen, t) for t in targets[d["slug"]]]

    def page(d: dict) -> Link:
        return Link(f"{d['slug']}.html", d["title"])

    def special(name: str, title: str | None = None) -> Link:
        slug, own_title = specials[name]
        return Link(f"{slug}.html", title or own_title)

    a, b, c, d_, e = (
        hosts[k]["related"] for k in ("host_a", "host_b", "host_c", "host_d", "host_e")
    )
    t1, t2, t3 = (cases[f"tin_khac_only_{i}"] for i in (1, 2, 3))
    a[2] = special("alias_1", alias_targets[0]["title"])
    a[5] = special("missing")
    a[7] = _offsite(gen, rng, "https://haiphong.gov.vn/tin-tuc-su-kien/")
    b[1] = special("error")
    b[4] = special("loop_a")
    b[6] = page(cases["empty"])
    b[7] = _offsite(gen, rng, "https://baohaiphong.vn/")
    e[3] = special("alias_2", alias_targets[1]["title"])
    e[5] = page(cases["not_html"])
    e[6] = page(cases["no_title"])
    # The Tin-khác-only chain: listed -> t1 -> t2 -> t3, and listed -> t2.
    c[0] = page(t1)
    d_[2] = page(t2)
    t1["related"][1] = page(t2)
    t2["related"][3] = page(t3)
    # Every link variant at least once, whatever the seed.
    for i, variant in enumerate(VARIANTS, start=3):
        target = targets[hosts["host_c"]["slug"]][i]
        c[i] = Link(f"{target['slug']}.html{variant}", target["title"])


def _key(d: dict) -> tuple:
    return (d["published"], d["id"])


def _neighbours(d: dict, section: list[dict], newest_first: list[dict]) -> list[dict]:
    """Up to 8 posts: the section's older neighbours first, then newer, then site-wide."""
    i = bisect.bisect_left(section, _key(d), key=_key)
    older = section[max(0, i - SIZE) : i][::-1]
    newer = section[i : i + SIZE + 1]
    picked: dict[int, dict] = {}
    for x in (*older, *newer, *newest_first):
        if len(picked) == SIZE:
            break
        if x is not d:
            picked.setdefault(id(x), x)
    return list(picked.values())


def _link(rng: random.Random, gen: TextGen, target: dict) -> Link:
    roll = rng.random()
    if roll < 0.03:
        return _offsite(gen, rng, "https://haiphong.gov.vn/tin-tuc-su-kien/")
    path = f"{target['slug']}.html"
    if roll < 0.17:
        path += VARIANTS[int((roll - 0.03) / 0.028)]
    return Link(path, target["title"])


def _offsite(gen: TextGen, rng: random.Random, prefix: str) -> Link:
    title = gen.title("tin-tuc-su-kien", rng.randint(2019, 2026))
    return Link(f"{prefix}{slugify(title)[:90].rstrip('-')}.html", title)
