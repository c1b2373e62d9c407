"""The site model: sections, articles and the hard cases, plus the queries tests ask of it.

A ``Site`` is immutable and knows nothing about HTTP, markup, ground truth or evolution:
those modules take a Site (``pages.render_article``, ``truth.expected_items``,
``evolve.evolve_site``), and this one imports none of them. URLs are kept relative to the
base URL (``"<slug>.html"``) because the base is only known once a server has a port; every
method that returns a URL takes ``base_url`` (ending in "/").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cached_property
from urllib.parse import urlsplit

TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")
THEMES = ("classic", "alt")
PAGE_SIZE = 10
TRAP_SECTION = "lich-cong-tac"
# Its articles' "Tin khác" lists and its listing's further pages are built by scripts.
SCRIPTED_SECTION = "quoc-phong-an-ninh"
# Out of the menu and every listing; its posts are reachable only through "Tin khác".
UNLISTED_SECTION = "tai-lieu"
DISALLOWED_PREFIXES = ("/wp-admin/", "/noi-bo/", "/noi-bo-")
# Cues an article page may leave out (Article.absent): the breadcrumb, the og:/article: meta
# tags, the post element's classes (post-N, category-<slug>…), the rel="category tag" link.
CUES = ("breadcrumb", "meta", "post_class", "category_link")

# Bad-input pages: kind -> (HTTP status, why a crawler should produce no item).
BAD_KINDS = {
    "empty": (200, "empty body"),
    "not_html": (200, "not an HTML response (application/pdf)"),
    "no_title": (200, "no title (no <title>, no h1, no og:title)"),
    "not_found": (404, "HTTP 404"),
    "server_error": (500, "HTTP 500"),
    "redirect_loop": (301, "redirect loop"),
}


@dataclass(frozen=True)
class Section:
    slug: str
    name: str
    listed: bool = True  # in the menu, with a listing; else no page links the category

    @property
    def path(self) -> str:
        return f"chuyen-muc/{self.slug}/"


@dataclass(frozen=True)
class Image:
    path: str  # "wp-content/uploads/YYYY/MM/name.jpg", relative to the base URL
    caption: str | None
    after: int  # shown after this body paragraph (0-based)
    photon: bool  # referenced through the i1.wp.com CDN
    variant: int  # which of the theme's two caption markups (0 or 1)

    def src(self, base_url: str) -> str:
        if not self.photon:
            return base_url + self.path
        host = urlsplit(base_url).netloc
        return f"https://i1.wp.com/{host}/{self.path}?fit=800%2C533&ssl=1"


@dataclass(frozen=True)
class Link:
    """A link as written on a page: a site-relative target or an absolute off-site URL."""

    target: str
    title: str

    @property
    def offsite(self) -> bool:
        return "://" in self.target

    def canonical(self, base_url: str) -> str:
        """The URL a crawler should key this link by (tracking query, #, /, /amp dropped)."""
        if self.offsite:
            return self.target
        path = self.target.split("#", 1)[0].split("?", 1)[0].rstrip("/")
        return base_url + path.removesuffix("/amp")


@dataclass(frozen=True)
class Article:
    id: int
    slug: str
    title: str
    section: str
    published: datetime
    modified: datetime | None
    sapo: str | None  # None: the post has no lead paragraph
    paragraphs: tuple[str, ...]
    images: tuple[Image, ...]
    author: str | None
    source_note: str | None  # what follows "Nguồn." on a source line
    goc: str | None  # the "Gốc" link: the original source URL
    related: tuple[Link, ...]  # the "Tin khác" list
    kind: str = "article"  # or a bad-page kind: "empty", "not_html", "no_title"
    quirk: str = ""  # page encoding: nfd, entities, legacy, malformed, wrong_charset, no_charset
    listed: bool = True  # in listings, home, sidebar, sitemap and feed
    listing_target: str = ""  # how listings link it when not canonically (AMP, query, "/")
    absent: frozenset[str] = frozenset()  # CUES its page leaves out

    def shows(self, cue: str) -> bool:
        """Whether the page carries ``cue`` (one of CUES)."""
        return cue not in self.absent

    @property
    def path(self) -> str:
        return f"{self.slug}.html"

    def url(self, base_url: str) -> str:
        return base_url + self.path

    @property
    def disallowed(self) -> bool:
        return ("/" + self.path).startswith(DISALLOWED_PREFIXES)


@dataclass(frozen=True)
class Evolution:
    """What ``evolve_site()`` did: posts published and posts changed after ``since``."""

    since: datetime  # the previous state's newest time; every change is after it
    at: datetime  # the newest time of this step (the evolved site's ``now``)
    new: tuple[str, ...]  # slugs of the posts published, oldest first
    changed: tuple[str, ...]  # slugs of the existing posts given a new body and modified date


@dataclass(frozen=True)
class Site:
    seed: int
    sections: tuple[Section, ...]
    articles: tuple[Article, ...]  # every post, newest first
    hard_cases: dict[str, str]  # hard-case name -> article slug
    alias_slugs: dict[str, str]  # old slug -> current slug (answered by a 301)
    loop_slugs: tuple[str, str]  # a.html -> b.html -> a.html
    missing_slug: str  # linked, answers 404
    error_slug: str  # linked, always answers 500
    trap_prefix: str = f"/chuyen-muc/{TRAP_SECTION}/page/"
    evolution: Evolution | None = None  # set by evolve_site(): its last step

    # -- lookups ---------------------------------------------------------------------
    @cached_property
    def _by_slug(self) -> dict[str, Article]:
        return {a.slug: a for a in self.articles}

    @cached_property
    def _by_id(self) -> dict[int, Article]:
        return {a.id: a for a in self.articles}

    def article(self, slug: str) -> Article | None:
        return self._by_slug.get(slug)

    def article_by_id(self, post_id: int) -> Article | None:
        return self._by_id.get(post_id)

    def section(self, slug: str) -> Section | None:
        return next((s for s in self.sections if s.slug == slug), None)

    @cached_property
    def now(self) -> datetime:
        """The site's 'today': its newest post or, once evolved, its newest change (fixes
        the calendar widget's month)."""
        newest = max(a.published for a in self.articles)
        return max(newest, self.evolution.at) if self.evolution else newest

    def listing(self, section_slug: str) -> list[Article]:
        """Posts a section's listing shows, newest first."""
        return [a for a in self.articles if a.listed and a.section == section_slug]

    def listing_pages(self, section_slug: str) -> int:
        return max(1, -(-len(self.listing(section_slug)) // PAGE_SIZE))

    def latest(self, n: int) -> list[Article]:
        return [a for a in self.articles if a.listed][:n]

    def is_scripted(self, a: Article) -> bool:
        """Whether the page of ``a`` needs JavaScript for its "Tin khác" list and images."""
        return a.section == SCRIPTED_SECTION and a.kind == "article" and not a.quirk

    def scripted_urls(self, base_url: str) -> list[str]:
        """Articles whose "Tin khác" list a script builds from the REST API."""
        base = check_base_url(base_url)
        return [a.url(base) for a in self.articles if self.is_scripted(a) and not a.disallowed]

    def scripted_listing_url(self, base_url: str) -> str:
        """The listing that loads its further posts by script ("Xem thêm")."""
        return check_base_url(base_url) + Section(SCRIPTED_SECTION, "").path

    # -- what the last evolve_site() step changed -------------------------------------
    def new_urls(self, base_url: str) -> list[str]:
        """URLs of the posts the last evolve_site() published, oldest first."""
        base = check_base_url(base_url)
        return [f"{base}{slug}.html" for slug in self.evolution.new] if self.evolution else []

    def changed_urls(self, base_url: str) -> list[str]:
        """URLs of the existing posts the last evolve_site() changed."""
        base = check_base_url(base_url)
        return [f"{base}{slug}.html" for slug in self.evolution.changed] if self.evolution else []

    # -- ground truth and hard cases ---------------------------------------------------
    def expected_bad_pages(self, base_url: str) -> list[dict]:
        base = check_base_url(base_url)
        pages = [(a.kind, a.path) for a in self.articles if a.kind != "article"]
        pages += [
            ("not_found", f"{self.missing_slug}.html"),
            ("server_error", f"{self.error_slug}.html"),
            ("redirect_loop", f"{self.loop_slugs[0]}.html"),
        ]
        return [
            {
                "url": base + path,
                "kind": kind,
                "status": BAD_KINDS[kind][0],
                "reason": BAD_KINDS[kind][1],
            }
            for kind, path in pages
        ]

    def disallowed_urls(self, base_url: str) -> list[str]:
        """Linked URLs that robots.txt forbids (the disallowed article and /noi-bo/)."""
        base = check_base_url(base_url)
        return [a.url(base) for a in self.articles if a.disallowed] + [base + "noi-bo/"]

    def aliases(self, base_url: str) -> dict[str, str]:
        base = check_base_url(base_url)
        return {f"{base}{old}.html": f"{base}{new}.html" for old, new in self.alias_slugs.items()}

    def tin_khac_only_urls(self, base_url: str) -> list[str]:
        base = check_base_url(base_url)
        return [a.url(base) for a in self.articles if a.kind == "article" and not a.listed]

    def redirect_loop_urls(self, base_url: str) -> list[str]:
        base = check_base_url(base_url)
        return [f"{base}{slug}.html" for slug in self.loop_slugs]

    def not_found_url(self, base_url: str) -> str:
        return f"{check_base_url(base_url)}{self.missing_slug}.html"

    def server_error_url(self, base_url: str) -> str:
        return f"{check_base_url(base_url)}{self.error_slug}.html"

    def hard_case_url(self, name: str, base_url: str) -> str:
        return f"{check_base_url(base_url)}{self.hard_cases[name]}.html"

    def section_urls(self, base_url: str) -> dict[str, str]:
        base = check_base_url(base_url)
        return {s.slug: base + s.path for s in self.sections}


def check_base_url(base_url: str) -> str:
    if not base_url.startswith(("http://", "https://")) or not base_url.endswith("/"):
        raise ValueError(f"base_url must be an absolute http(s) URL ending in '/': {base_url!r}")
    return base_url


def check_theme(theme: str) -> str:
    if theme not in THEMES:
        raise ValueError(f"unknown theme {theme!r}; expected one of {THEMES}")
    return theme
