"""evolve_site(): the same portal a few hours later, for incremental crawls.

Newsrooms publish ``new`` posts and edit ``changed`` old ones. Everything else (listings,
home, sidebar, sitemap, feed, AMP twins, REST API, ground truth) is derived from the
model, so it follows. The new posts are plain: a regular, unscripted section, listed,
no quirk, canonical listing links, an author, one or two images, 8 "Tin khác" links to
existing posts. The changed posts are ordinary ones deep in their section's listing (past
its first page, hence also off the home page, sidebar and feed): a crawler learns of the
change from the REST API (``modified_after``) or by fetching them again, not from listings.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta

from .generate import MAX_SLUG, REGULAR_SECTIONS, goc_url, new_image, unique_slug
from .model import DISALLOWED_PREFIXES, PAGE_SIZE, SCRIPTED_SECTION, Article, Evolution, Link, Site
from .text import TextGen, slugify

SECTIONS = tuple(s for s in REGULAR_SECTIONS if s != SCRIPTED_SECTION)
RELATED = 8


def evolve_site(site: Site, new: int = 3, changed: int = 2) -> Site:
    """``site`` after ``new`` posts were published (at +1h, +2h, ...) and ``changed`` old
    posts were edited (at +30min, +1h30, ...), counted from the newest time in ``site``."""
    if new < 0 or changed < 0 or new + changed == 0:
        raise ValueError(f"nothing to evolve: new={new}, changed={changed}")
    since = max(a.modified or a.published for a in site.articles)
    since = max(since, site.now)
    top_id = max(a.id for a in site.articles)
    rng = random.Random(f"fixture-portal-evolve:{site.seed}:{top_id}:{since.isoformat()}")
    gen = TextGen(rng)

    edits = _pick_changed(rng, site, changed)
    changes = {
        a.slug: replace(
            a,
            modified=since + timedelta(minutes=30 + 60 * i),
            paragraphs=(*a.paragraphs, gen.paragraph(a.section)),
        )
        for i, a in enumerate(edits)
    }
    titles = {a.title for a in site.articles}
    used = {a.slug for a in site.articles} | set(site.alias_slugs) | set(site.loop_slugs)
    used |= {site.missing_slug, site.error_slug}
    posts, post_id = [], top_id
    for i in range(new):
        post_id += rng.randint(2, 9)
        posts.append(
            _new_post(rng, gen, site, titles, used, post_id, since + timedelta(hours=i + 1))
        )

    articles = [changes.get(a.slug, a) for a in site.articles] + posts
    articles.sort(key=lambda a: (a.published, a.id), reverse=True)
    times = [a.published for a in posts] + [a.modified for a in changes.values()]
    return replace(
        site,
        articles=tuple(articles),
        evolution=Evolution(
            since=since,
            at=max(times),
            new=tuple(a.slug for a in posts),
            changed=tuple(a.slug for a in edits),
        ),
    )


def _pick_changed(rng: random.Random, site: Site, n: int) -> list[Article]:
    special = set(site.hard_cases.values()) | set(site.alias_slugs.values())
    candidates = []
    for section in SECTIONS:
        for position, a in enumerate(site.listing(section)):
            if (
                position >= PAGE_SIZE
                and a.kind == "article"
                and not a.quirk
                and not a.listing_target
                and not a.disallowed
                and a.slug not in special
            ):
                candidates.append(a)
    if n > len(candidates):
        raise ValueError(f"only {len(candidates)} posts can be changed, asked for {n}")
    return rng.sample(sorted(candidates, key=lambda a: a.id), n)


def _new_post(
    rng: random.Random,
    gen: TextGen,
    site: Site,
    titles: set[str],
    used: set[str],
    post_id: int,
    when: datetime,
) -> Article:
    section = rng.choice(SECTIONS)
    while True:  # a plain headline: no digit-first slug, no over-long slug, no "noi-bo-"
        title = gen.title(section, when.year)
        slug = slugify(title)
        if (
            title not in titles
            and not slug[0].isdigit()
            and len(slug) <= 120
            and not ("/" + slug).startswith(DISALLOWED_PREFIXES)
        ):
            break
    titles.add(title)
    paragraphs = gen.paragraphs(section)
    while len(paragraphs) < 3:
        paragraphs.append(gen.paragraph(section))
    slots = sorted(rng.sample(range(len(paragraphs) - 1), rng.randint(1, 2)))
    return Article(
        id=post_id,
        slug=unique_slug(slug[:MAX_SLUG], used),
        title=title,
        section=section,
        published=when,
        modified=None,
        sapo=gen.sapo(section, when),
        paragraphs=tuple(paragraphs),
        images=tuple(new_image(rng, gen, section, when, after, photon=False) for after in slots),
        author=gen.author(),
        source_note=None,
        goc=goc_url(rng, title),
        related=_related(site, section),
    )


def _related(site: Site, section: str) -> tuple[Link, ...]:
    """The section's newest existing posts (then the site's): what the widget would show."""
    pool = [a for a in site.articles if a.kind == "article" and a.listed and not a.disallowed]
    ordered = [a for a in pool if a.section == section] + [a for a in pool if a.section != section]
    return tuple(Link(a.path, a.title) for a in ordered[:RELATED])
