"""Routing: every URL of the portal to a Response, rendered once and cached.

Only finite URL spaces are cached; the endless trap listing and calendar days are
rendered per request so a crawler caught in them cannot grow the server's memory.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property, partial
from urllib.parse import parse_qs, urlsplit

from . import amp, assets, feeds, scripted, theme_alt, theme_classic
from .htmlutil import FANPAGE_QR, LOGO, Ctx, entity_escape, escape, vn_date, vn_datetime
from .model import PAGE_SIZE, TRAP_SECTION, Article, Site, check_base_url, check_theme

HTML = "text/html; charset=UTF-8"
JSON = "application/json; charset=UTF-8"
THEMES = {"classic": theme_classic, "alt": theme_alt}
QUIRK_CONTENT_TYPES = {"wrong_charset": "text/html; charset=iso-8859-1", "no_charset": "text/html"}
ARTICLE_RE = re.compile(r"^/([a-z0-9][a-z0-9-]*)\.html(/amp)?(/?)$")
LISTING_RE = re.compile(r"^/chuyen-muc/([a-z0-9-]+)(?:/page/(\d+))?(/?)$")
SITEMAP_RE = re.compile(r"^/wp-sitemap-posts-post-(\d+)\.xml$")
SERVER_ERROR = (
    b'<!DOCTYPE html>\n<html lang="vi"><head><meta charset="UTF-8">'
    b'<title>WordPress &rsaquo; L\xe1\xbb\x97i</title></head><body id="error-page">'
    b'<div class="wp-die-message"><p>There has been a critical error on this website.'
    b"</p></div></body></html>\n"
)


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = HTML
    headers: tuple[tuple[str, str], ...] = ()
    etag: str | None = None
    last_modified: datetime | None = None

    @cached_property
    def gzipped(self) -> bytes:
        return gzip.compress(self.body, compresslevel=6, mtime=0)


def render_article(site: Site, slug: str, theme: str, base_url: str) -> str:
    """The HTML of an article page, as the server sends it (before transport encoding)."""
    article = site.article(slug)
    if article is None or article.kind != "article":
        raise KeyError(f"no article with slug {slug!r}")
    return article_html(site, article, check_theme(theme), check_base_url(base_url))


def article_html(site: Site, a: Article, theme: str, base: str) -> str:
    """An article page with its encoding quirk applied (entities, NFD, no charset)."""
    ctx = Ctx(
        site,
        base,
        esc=entity_escape if a.quirk == "entities" else escape,
        meta_charset=a.quirk != "no_charset",
    )
    html = THEMES[theme].article_page(ctx, a)
    return unicodedata.normalize("NFD", html) if a.quirk == "nfd" else html


def _untitled_page(a: Article) -> str:
    """A broken template: the post's text, but no <title>, no headline, no og:title."""
    paragraphs = "\n".join(f"<p>{escape(p)}</p>" for p in (a.sapo, *a.paragraphs) if p)
    return (
        f'<!DOCTYPE html>\n<html lang="vi">\n<head>\n<meta charset="UTF-8">\n</head>\n<body>\n'
        f'<div class="entry-meta">Print {escape(vn_datetime(a.published))}</div>\n'
        f'<div class="entry-content">\n{paragraphs}\n</div>\n</body>\n</html>\n'
    )


class Router:
    def __init__(self, site: Site, theme: str, base: str):
        self.site = site
        self.theme = theme
        self.base = base
        self.tpl = THEMES[theme]
        self.ctx = Ctx(site, base)
        self._cache: dict[tuple, Response] = {}
        self._images = {img.path for a in site.articles for img in a.images} | {LOGO, FANPAGE_QR}
        self._fixed: dict[str, Callable[[], Response]] = {
            "/robots.txt": lambda: Response(
                200, feeds.robots_txt(base).encode(), "text/plain; charset=utf-8"
            ),
            "/wp-sitemap.xml": lambda: self._xml(feeds.sitemap_index(site, base)),
            "/wp-sitemap-posts-page-1.xml": lambda: self._xml(feeds.sitemap_pages(base)),
            "/wp-sitemap-taxonomies-category-1.xml": lambda: self._xml(
                feeds.sitemap_categories(site, base)
            ),
            "/feed/": lambda: Response(
                200, feeds.rss(site, base).encode(), "application/rss+xml; charset=UTF-8"
            ),
            "/lien-he/": self._contact,
            "/noi-bo/": self._internal,
            f"/{theme_classic.STYLE}": lambda: Response(200, assets.CSS, "text/css"),
            f"/{theme_classic.SCRIPT}": lambda: Response(200, assets.JS, "application/javascript"),
            f"/{theme_alt.STYLE}": lambda: Response(200, assets.CSS, "text/css"),
            f"/{theme_alt.SCRIPT}": lambda: Response(200, assets.JS, "application/javascript"),
        }
        for path, script in scripted.SCRIPTS.items():
            self._fixed[f"/{path}"] = partial(Response, 200, script, "application/javascript")

    def resolve(self, target: str) -> Response:
        """The response for a request target (path with query), without transport encoding."""
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        if path == "/":
            post = self._post_from_query(query)
            if post is not None:
                return self._redirect(post.path)
            return self._cached(("home",), lambda: self._html(self.tpl.home_page(self.ctx)))
        if path in self._fixed:
            return self._cached((path,), self._fixed[path])
        if m := ARTICLE_RE.match(path):
            return self._article(m.group(1), bool(m.group(2)), bool(m.group(3)))
        if m := LISTING_RE.match(path):
            return self._listing(m.group(1), m.group(2), bool(m.group(3)))
        if m := SITEMAP_RE.match(path):
            return self._cached((path,), lambda: self._sitemap_page(int(m.group(1))))
        if path == f"/{scripted.API}":
            return self._api_posts(query)
        if path == "/lich/":
            return self._day(query.get("ngay", [""])[0])
        if path.lstrip("/") in self._images:
            return Response(
                200, assets.JPEG, "image/jpeg", (("Cache-Control", "max-age=31536000"),)
            )
        if path + "/" in self._fixed or path == "/lich":
            return self._redirect(path.lstrip("/") + "/")
        return self._not_found()

    # -- helpers -----------------------------------------------------------------------
    def _cached(self, key: tuple, build: Callable[[], Response]) -> Response:
        response = self._cache.get(key)
        if response is None:
            # Two threads may render the same page at once; both results are identical.
            response = self._cache[key] = build()
        return response

    def _html(self, html: str, status: int = 200) -> Response:
        return Response(status, html.encode("utf-8"))

    def _xml(self, xml: str) -> Response:
        return Response(200, xml.encode("utf-8"), "application/xml; charset=UTF-8")

    def _redirect(self, target: str) -> Response:
        return Response(
            301, headers=(("Location", self.base + target), ("X-Redirect-By", "WordPress"))
        )

    def _not_found(self) -> Response:
        return self._cached(
            ("404",),
            lambda: self._html(
                self.tpl.simple_page(
                    self.ctx,
                    "Không tìm thấy trang",
                    "<p>Trang bạn tìm không tồn tại hoặc đã được chuyển đi.</p>",
                    self.base,
                ),
                404,
            ),
        )

    def _post_from_query(self, query: dict[str, list[str]]) -> Article | None:
        value = query.get("p", [""])[0]
        return self.site.article_by_id(int(value)) if value.isdigit() else None

    # -- pages -------------------------------------------------------------------------
    def _article(self, slug: str, is_amp: bool, slash: bool) -> Response:
        suffix = ".html/amp" if is_amp else ".html"
        if slash:
            return self._redirect(slug + suffix)
        if slug in self.site.alias_slugs:
            return self._redirect(self.site.alias_slugs[slug] + suffix)
        first, second = self.site.loop_slugs
        if slug in (first, second):
            return self._redirect((second if slug == first else first) + ".html")
        if slug == self.site.error_slug:
            return Response(500, SERVER_ERROR)
        a = self.site.article(slug)
        if a is None or (is_amp and a.kind != "article"):
            return self._not_found()
        if is_amp:
            return self._cached(
                ("amp", slug),
                lambda: self._article_response(a, amp.amp_page(self.ctx, a).encode("utf-8"), HTML),
            )
        return self._cached(("article", slug), lambda: self._post(a))

    def _post(self, a: Article) -> Response:
        if a.kind == "empty":
            return Response(200, b"")
        if a.kind == "not_html":
            return Response(200, assets.PDF, "application/pdf")
        if a.kind == "no_title":
            return self._html(_untitled_page(a))
        body = article_html(self.site, a, self.theme, self.base).encode("utf-8")
        return self._article_response(a, body, QUIRK_CONTENT_TYPES.get(a.quirk, HTML))

    def _article_response(self, a: Article, body: bytes, content_type: str) -> Response:
        """Article pages carry repeated headers (two Set-Cookie, two Link) and validators.

        The alt skin leaks neither the post id nor a date: no shortlink, no Last-Modified.
        """
        if self.theme == "classic":
            links = (
                f'<{self.base}wp-json/>; rel="https://api.w.org/"',
                f"<{self.base}?p={a.id}>; rel=shortlink",
            )
        else:
            links = (
                f"<{self.base}{theme_alt.STYLE}>; rel=preload; as=style",
                f"<{self.base}{theme_alt.SCRIPT}>; rel=preload; as=script",
            )
        visit = hashlib.sha1(a.slug.encode()).hexdigest()[:12]
        headers = (
            ("Set-Cookie", "pll_language=vi; path=/; SameSite=Lax"),
            ("Set-Cookie", f"hp_visit={visit}; path=/; HttpOnly"),
            ("Link", links[0]),
            ("Link", links[1]),
        )
        etag = f'W/"{hashlib.sha1(body).hexdigest()[:20]}"'
        last_modified = (a.modified or a.published) if self.theme == "classic" else None
        return Response(200, body, content_type, headers, etag, last_modified)

    def _listing(self, slug: str, number: str | None, slash: bool) -> Response:
        section = self.site.section(slug)
        page = int(number) if number else 1
        if section is None or not section.listed or page < 1:
            return self._not_found()
        canonical = section.path if page == 1 else f"{section.path}page/{page}/"
        if not slash or (number is not None and number != str(page)) or number == "1":
            return self._redirect(canonical)
        posts = self.site.listing(slug)
        if slug == TRAP_SECTION:
            # A broken paginator: every page exists, links a next one and repeats the posts.
            return self._html(self.tpl.listing_page(self.ctx, section, page, posts, None))
        last = self.site.listing_pages(slug)
        if page > last:
            return self._not_found()
        return self._cached(
            ("listing", slug, page),
            lambda: self._html(
                self.tpl.listing_page(
                    self.ctx, section, page, posts[(page - 1) * PAGE_SIZE : page * PAGE_SIZE], last
                )
            ),
        )

    def _day(self, value: str) -> Response:
        """A calendar day: no events, links to the previous and next day, forever."""
        try:
            day = date.fromisoformat(value) if value else self.site.now.date()
        except ValueError:
            return self._not_found()
        if day in (date.min, date.max):
            return self._not_found()
        before, after = day - timedelta(days=1), day + timedelta(days=1)
        previous_link = self.ctx.a(f"lich/?ngay={before.isoformat()}", "« Ngày trước", 'rel="prev"')
        next_link = self.ctx.a(f"lich/?ngay={after.isoformat()}", "Ngày sau »", 'rel="next"')
        inner = (
            f"<p>Không có sự kiện nào trong ngày {vn_date(day)}.</p>\n"
            f"<p>{previous_link} | {next_link}</p>"
        )
        return self._html(
            self.tpl.simple_page(
                self.ctx,
                f"Lịch công tác ngày {vn_date(day)}",
                inner,
                f"{self.base}lich/?ngay={day.isoformat()}",
            )
        )

    def _api_posts(self, query: dict[str, list[str]]) -> Response:
        """The WordPress REST API's posts route: the scripted section's queries, else the
        general one (``modified_after``, paging) that incremental crawls ask."""
        if scripted.is_posts_query(query):
            status, body, headers = scripted.posts_query(self.site, self.base, query)
            return Response(status, body, JSON, headers)
        answer = scripted.api_posts(self.site, self.base, query)
        if answer is None:
            return Response(
                400,
                b'{"code":"rest_invalid_param","message":"Invalid parameter(s)."}',
                JSON,
            )
        body, total_pages = answer
        return Response(200, body, JSON, (("X-WP-TotalPages", str(total_pages)),))

    def _sitemap_page(self, number: int) -> Response:
        xml = feeds.sitemap_post_page(self.site, self.base, number)
        return self._not_found() if xml is None else self._xml(xml)

    def _contact(self) -> Response:
        inner = (
            "<p>Cổng tin tức Thành phố Hải Phòng</p>\n"
            "<p>Địa chỉ: Số 18 Hoàng Diệu, quận Hồng Bàng, thành phố Hải Phòng</p>\n"
            '<p>Điện thoại: 0225.3842.XXX - Email: <a href="mailto:bbt@haiphong.gov.vn">'
            "bbt@haiphong.gov.vn</a></p>"
        )
        return self._html(self.tpl.simple_page(self.ctx, "Liên hệ", inner, f"{self.base}lien-he/"))

    def _internal(self) -> Response:
        inner = (
            '<form method="post" action="">\n<p><label>Tài khoản <input name="log"></label>'
            '</p>\n<p><label>Mật khẩu <input type="password" name="pwd"></label></p>\n'
            '<p><input type="submit" value="Đăng nhập"></p>\n</form>'
        )
        return self._html(
            self.tpl.simple_page(self.ctx, "Hệ thống nội bộ", inner, f"{self.base}noi-bo/")
        )
