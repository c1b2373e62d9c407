"""The section whose pages need JavaScript, as real WordPress portals build them.

In ``SCRIPTED_SECTION`` an article's "Tin khác" list is an empty ``<ul>`` that a script
fills from the WordPress REST API (``/wp-json/wp/v2/posts?related_to=<id>``); its images
are lazy-loaded (a placeholder ``src``, the file in ``data-src``, swapped in when the
image nears the viewport); and the section's listing shows one page of posts and a
"Xem thêm" button that loads the next ones from the REST API (no pagination links).
The item each article must become does not change: the script builds exactly the list
the other sections write in their HTML.

Any other query of that route (``modified_after``, ``orderby``, ``per_page``, ``page``,
``_fields``) is answered as WordPress 5.7+ answers it: ``posts_query``.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta, timezone

from .htmlutil import Ctx, escape
from .model import PAGE_SIZE, TZ, Article, Image, Section, Site

API = "wp-json/wp/v2/posts"
RELATED_SCRIPT = "wp-content/themes/hpnews/js/related.js"
LAZY_SCRIPT = "wp-content/themes/hpnews/js/lazy.js"
MORE_SCRIPT = "wp-content/themes/hpnews/js/load-more.js"
PLACEHOLDER = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
MORE_TEXT = "Xem thêm"

RELATED_JS = b"""(function(){
function build(list){
  fetch(list.getAttribute('data-hp-related'),{credentials:'same-origin'})
  .then(function(r){return r.json();})
  .then(function(posts){posts.forEach(function(p){
    var li=document.createElement('li'),a=document.createElement('a');
    a.href=p.link;a.innerHTML=p.title.rendered;li.appendChild(a);list.appendChild(li);});});
}
document.addEventListener('DOMContentLoaded',function(){
  document.querySelectorAll('[data-hp-related]').forEach(build);});
})();
"""
LAZY_JS = b"""(function(){
function load(img){img.src=img.getAttribute('data-src');img.classList.remove('lazyload');}
document.addEventListener('DOMContentLoaded',function(){
  var images=document.querySelectorAll('img.lazyload[data-src]');
  if(!('IntersectionObserver' in window)){images.forEach(load);return;}
  var seen=new IntersectionObserver(function(entries){entries.forEach(function(e){
    if(e.isIntersecting){seen.unobserve(e.target);load(e.target);}});},{rootMargin:'100px'});
  images.forEach(function(img){seen.observe(img);});});
})();
"""
MORE_JS = b"""(function(){
document.addEventListener('click',function(e){
  var button=e.target.closest('[data-hp-more]');
  if(!button||button.disabled)return;
  e.preventDefault();button.disabled=true;
  var url=new URL(button.getAttribute('data-hp-more'),location.href);
  fetch(url.href,{credentials:'same-origin'}).then(function(r){
    var total=parseInt(r.headers.get('X-WP-TotalPages')||'1',10);
    return r.json().then(function(posts){
      var list=document.querySelector(button.getAttribute('data-hp-list'));
      posts.forEach(function(p){
        var h=document.createElement('h2'),a=document.createElement('a');
        h.className='entry-title';a.href=p.link;a.innerHTML=p.title.rendered;
        h.appendChild(a);list.appendChild(h);});
      var page=parseInt(url.searchParams.get('page'),10);
      if(page>=total){button.remove();return;}
      url.searchParams.set('page',String(page+1));
      button.setAttribute('data-hp-more',url.pathname+url.search);button.disabled=false;});
  });
});
})();
"""
SCRIPTS = {RELATED_SCRIPT: RELATED_JS, LAZY_SCRIPT: LAZY_JS, MORE_SCRIPT: MORE_JS}


def category_id(site: Site, slug: str) -> int:
    """The WordPress term id of a section (stable: its position in the menu)."""
    return 2 + [s.slug for s in site.sections].index(slug)


def related_api(a: Article) -> str:
    return f"{API}?related_to={a.id}&_fields=link,title"


def listing_api(site: Site, section: Section, page: int) -> str:
    return (
        f"{API}?categories={category_id(site, section.slug)}&page={page}"
        f"&per_page={PAGE_SIZE}&_fields=link,title"
    )


def script_tags(ctx: Ctx, *paths: str) -> str:
    return "\n".join(f'<script src="{ctx.url(path)}" defer></script>' for path in paths)


def article_scripts(ctx: Ctx, a: Article) -> str:
    """What a scripted article adds to its <head>."""
    return script_tags(ctx, RELATED_SCRIPT, LAZY_SCRIPT) if ctx.site.is_scripted(a) else ""


def related_list(ctx: Ctx, a: Article, tag_attrs: str) -> str:
    """The "Tin khác" <ul>: written out, or empty for the script to fill."""
    if ctx.site.is_scripted(a):
        return f'<ul {tag_attrs} data-hp-related="{escape(ctx.url(related_api(a)))}"></ul>'
    items = "".join(f"<li>{ctx.a(link.target, link.title)}</li>" for link in a.related)
    return f"<ul {tag_attrs}>{items}</ul>"


def img_tag(ctx: Ctx, img: Image) -> str:
    """A lazy-loaded <img> of a scripted article: a placeholder src, the file in data-src."""
    return (
        f'<img class="lazyload" src="{PLACEHOLDER}" data-src="{escape(img.src(ctx.base))}"'
        ' alt="" width="800" height="533">'
    )


def load_more(ctx: Ctx, section: Section) -> str:
    """In place of the scripted section's pagination: a list to fill and the button."""
    return (
        '<div id="hp-more-list" class="load-more-list"></div>\n'
        f'<button type="button" class="load-more" data-hp-list="#hp-more-list"'
        f' data-hp-more="{escape(ctx.url(listing_api(ctx.site, section, 2)))}">'
        f"{MORE_TEXT}</button>\n{script_tags(ctx, MORE_SCRIPT)}"
    )


def api_posts(site: Site, base: str, query: dict[str, list[str]]) -> tuple[bytes, int] | None:
    """The REST API's answer (JSON, total pages) to ``related_to`` or ``categories`` queries."""
    related_to = query.get("related_to", [""])[0]
    if related_to.isdigit():
        a = site.article_by_id(int(related_to))
        if a is None or not site.is_scripted(a):
            return None
        posts = [(link.target, link.title) for link in a.related]
        return _json(base, posts), 1
    category = query.get("categories", [""])[0]
    page = query.get("page", ["1"])[0]
    section = next(
        (
            s
            for s in site.sections
            if category.isdigit() and category_id(site, s.slug) == int(category)
        ),
        None,
    )
    if section is None or not page.isdigit() or int(page) < 1:
        return None
    listed = site.listing(section.slug)
    total = max(1, -(-len(listed) // PAGE_SIZE))
    chunk = listed[(int(page) - 1) * PAGE_SIZE : int(page) * PAGE_SIZE]
    if not chunk:
        return None
    return _json(base, [(a.listing_target or a.path, a.title) for a in chunk]), total


def is_posts_query(query: dict[str, list[str]]) -> bool:
    """Whether ``posts_query`` answers it (else ``api_posts``: the scripts' own queries)."""
    return "related_to" not in query and ("categories" not in query or "modified_after" in query)


def posts_query(
    site: Site, base: str, query: dict[str, list[str]]
) -> tuple[int, bytes, tuple[tuple[str, str], ...]]:
    """``GET /wp-json/wp/v2/posts`` as WordPress 5.7+ answers it: every published post,
    filtered by ``modified_after`` (and ``categories``), ordered by ``orderby``/``order``
    (date, desc), paged by ``per_page`` (10, at most 100) and ``page``, cut to ``_fields``.

    Like WordPress, a ``modified_after`` without an offset is in the site's time zone
    (+07:00), not UTC: WP_Date_Query compares it with ``post_modified``. The comparison is
    strict and at whole seconds. Returns (status, JSON body, headers).
    """

    def arg(name: str, default: str) -> str:
        return query.get(name, [default])[0]

    errors: dict[str, tuple[str, str]] = {}
    since = None
    if "modified_after" in query:
        since = parse_date(arg("modified_after", ""))
        if since is None:
            errors["modified_after"] = ("rest_invalid_date", "Invalid date.")
    numbers = {}
    for name, default, low, high in (("page", 1, 1, None), ("per_page", 10, 1, 100)):
        value = arg(name, str(default)).strip()
        if not re.fullmatch(r"[+-]?\d+", value):
            errors[name] = ("rest_invalid_type", f"{name} is not of type integer.")
        elif int(value) < low or (high is not None and int(value) > high):
            bound = (
                f"between {low} (inclusive) and {high} (inclusive)"
                if high is not None
                else f"greater than or equal to {low}"
            )
            errors[name] = ("rest_out_of_bounds", f"{name} must be {bound}")
        else:
            numbers[name] = int(value)
    order, orderby = arg("order", "desc"), arg("orderby", "date")
    if order not in ("asc", "desc"):
        errors["order"] = ("rest_not_in_enum", "order is not one of asc and desc.")
    if orderby not in ORDERBY:
        errors["orderby"] = ("rest_not_in_enum", f"orderby is not one of {ORDERBY_NAMES}.")
    categories = []
    for value in ",".join(query.get("categories", [])).split(","):
        if value.strip().isdigit():
            categories.append(int(value))
        elif value.strip():
            errors["categories"] = ("rest_invalid_type", "categories[0] is not of type integer.")
    if errors:
        return 400, _invalid(errors), ()

    posts = [
        a
        for a in site.articles
        if (since is None or (a.modified or a.published) > since)
        and (not categories or category_id(site, a.section) in categories)
    ]
    posts.sort(key=ORDERBY[orderby], reverse=order == "desc")
    total = len(posts)
    per_page, page = numbers["per_page"], numbers["page"]
    pages = -(-total // per_page)
    if page > pages and total > 0:
        body = {
            "code": "rest_post_invalid_page_number",
            "message": "The page number requested is larger than the number of pages available.",
            "data": {"status": 400},
        }
        return 400, json.dumps(body).encode(), ()
    fields = [f.strip() for f in ",".join(query.get("_fields", [])).split(",") if f.strip()]
    data = [
        _only(_post(site, base, a), fields) for a in posts[(page - 1) * per_page : page * per_page]
    ]
    headers = (("X-WP-Total", str(total)), ("X-WP-TotalPages", str(pages)))
    return 200, json.dumps(data, ensure_ascii=False).encode("utf-8"), headers


# rest_parse_date(): RFC 3339, the offset optional.
DATE_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?"
    r"(Z|z|[+-]\d{2}(?::?\d{2})?)?"
)
ORDERBY = {
    "date": lambda a: (a.published, a.id),
    "modified": lambda a: (a.modified or a.published, a.id),
    "id": lambda a: a.id,
    "slug": lambda a: a.slug,
    "title": lambda a: (a.title, a.id),
}
ORDERBY_NAMES = "author, date, id, include, modified, parent, relevance, slug, include_slugs, title"


def parse_date(value: str) -> datetime | None:
    """A ``modified_after``/``before`` value, as WordPress reads it (no offset: site time)."""
    m = DATE_RE.fullmatch(value)
    if m is None:
        return None
    zone = m.group(7)
    if zone is None:
        tz = TZ
    elif zone in ("Z", "z"):
        tz = UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0)))
    try:
        return datetime(*(int(g) for g in m.groups()[:6]), tzinfo=tz)
    except ValueError:
        return None


def wp_date(when: datetime, gmt: bool) -> str:
    """A date as the REST API gives it: ISO 8601 without an offset, local or GMT."""
    return (when.astimezone(UTC) if gmt else when).replace(tzinfo=None).isoformat()


def _post(site: Site, base: str, a: Article) -> dict:
    modified = a.modified or a.published
    return {
        "id": a.id,
        "date": wp_date(a.published, gmt=False),
        "date_gmt": wp_date(a.published, gmt=True),
        "guid": {"rendered": f"{base}?p={a.id}"},
        "modified": wp_date(modified, gmt=False),
        "modified_gmt": wp_date(modified, gmt=True),
        "slug": a.slug,
        "status": "publish",
        "type": "post",
        "link": a.url(base),
        "title": {"rendered": html.escape(a.title, quote=False)},
        "categories": [category_id(site, a.section)],
    }


def _only(post: dict, fields: list[str]) -> dict:
    """``_fields``: top-level names, or nested ones like ``title.rendered``."""
    if not fields:
        return post
    out: dict = {}
    for key, value in post.items():
        nested = [f.split(".", 1)[1] for f in fields if f.startswith(key + ".")]
        if key in fields:
            out[key] = value
        elif nested and isinstance(value, dict):
            out[key] = _only(value, nested)
    return out


def _invalid(errors: dict[str, tuple[str, str]]) -> bytes:
    """WordPress's answer to invalid parameters (rest_invalid_param, 400)."""
    body = {
        "code": "rest_invalid_param",
        "message": f"Invalid parameter(s): {', '.join(errors)}",
        "data": {
            "status": 400,
            "params": {name: message for name, (_, message) in errors.items()},
            "details": {
                name: {"code": code, "message": message, "data": None}
                for name, (code, message) in errors.items()
            },
        },
    }
    return json.dumps(body).encode()


def _json(base: str, posts: list[tuple[str, str]]) -> bytes:
    data = [
        {
            "link": target if "://" in target else base + target,
            "title": {"rendered": html.escape(title, quote=False)},
        }
        for target, title in posts
    ]
    return json.dumps(data, ensure_ascii=False).encode("utf-8")
