"""The section whose pages need JavaScript, as real WordPress portals build them.

In ``SCRIPTED_SECTION`` an article's "Tin khác" list is an empty ``<ul>`` that a script
fills from the WordPress REST API (``/wp-json/wp/v2/posts?related_to=<id>``); its images
are lazy-loaded (a placeholder ``src``, the file in ``data-src``, swapped in when the
image nears the viewport); and the section's listing shows one page of posts and a
"Xem thêm" button that loads the next ones from the REST API (no pagination links).
The item each article must become does not change: the script builds exactly the list
the other sections write in their HTML.
"""

from __future__ import annotations

import html
import json

from .htmlutil import Ctx, escape
from .model import PAGE_SIZE, Article, Image, Section, Site

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


def _json(base: str, posts: list[tuple[str, str]]) -> bytes:
    data = [
        {
            "link": target if "://" in target else base + target,
            "title": {"rendered": html.escape(title, quote=False)},
        }
        for target, title in posts
    ]
    return json.dumps(data, ensure_ascii=False).encode("utf-8")
