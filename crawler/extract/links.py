"""Links a page offers: the menu's sections, listings' articles and next
pages, an article's "Tin khác" list and its section."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from lxml import etree

from crawler.extract.blocks import BLOCK_TAGS, TextBlock
from crawler.extract.rules import ExtractionRules, css
from crawler.extract.text import clean_text, fold, folded
from crawler.urls import PortalUrls, listing_base, listing_page_number

_HEADING_TAGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))
# Site menus: <nav>, or any element whose class or id says menu/nav
# (WordPress' ul.menu and .main-navigation, "menu-top", "nav-menu", …).
_MENU_XPATH = (
    "//nav//a[@href]"
    " | //*[contains(@class, 'menu') or contains(@id, 'menu')"
    " or contains(@class, 'nav') or contains(@id, 'nav')]//a[@href]"
)
# Compiled once: doc.xpath(text) compiles on every call.
_MENU = etree.XPath(_MENU_XPATH)
_HREFS = etree.XPath("//a/@href")
_NEXT_HREFS = etree.XPath(
    "//link[@rel='next']/@href | //a[contains(concat(' ', @rel, ' '), ' next ')]/@href"
)
_BREADCRUMB_XPATH = (
    "//*[contains(translate(@class, 'BREADCUMB', 'breadcumb'), 'breadcrumb')"
    " or contains(translate(@id, 'BREADCUMB', 'breadcumb'), 'breadcrumb')"
    " or @itemtype='https://schema.org/BreadcrumbList'"
    " or @itemtype='http://schema.org/BreadcrumbList']//a[@href]"
)


def _absolute(base: str, href: str | None) -> str:
    href = (href or "").strip()
    if not base or not href:
        return urljoin(base, href)
    # A link with its own host joins to the same URL on every page of the same scheme (see
    # urljoin): remembered, as menus and sidebars repeat on every page.
    key = (urlsplit(base).scheme, href)
    joined = _JOINED.get(key)
    if joined is None:
        joined = urljoin(base, href)
        if urlsplit(href).netloc:
            if len(_JOINED) >= _JOINED_MAX:
                _JOINED.clear()
            _JOINED[key] = joined
    return joined


_JOINED: dict[tuple[str, str], str] = {}
_JOINED_MAX = 2048


def _is_listing(url: str, urls: PortalUrls, home: str) -> bool:
    if not urls.in_scope(url) or urls.is_article(url):
        return False
    return urlsplit(url).path.strip("/") != urlsplit(home).path.strip("/")


def menu_sections(
    doc, base: str, urls: PortalUrls, home: str, rules: ExtractionRules
) -> list[tuple[str, str]]:
    """``(url, name)`` of the in-scope listing links of the site menu, in order."""
    if "menu" in rules.selectors:
        anchors = css(rules.selectors["menu"] + " a[href]")(doc)
    else:
        anchors = _MENU(doc)
    seen: dict[str, str] = {}
    for anchor in anchors:
        url = urls.canonical(_absolute(base, anchor.get("href")))
        if _is_listing(url, urls, home):
            seen.setdefault(url, clean_text(anchor.text_content()))
    return list(seen.items())


def article_links(doc, base: str, urls: PortalUrls) -> list[str]:
    """Every in-scope article link of a page, canonical, in page order."""
    seen: dict[str, None] = {}
    for href in _HREFS(doc):
        url = urls.canonical(_absolute(base, href))
        if urls.is_article(url):
            seen.setdefault(url)
    return list(seen)


def next_listing_page(doc, current: str, urls: PortalUrls) -> str | None:
    """The next page of the listing ``current``: rel=next, else page N+1."""
    for href in _NEXT_HREFS(doc):
        url = urls.canonical(_absolute(current, href))
        if urls.in_scope(url):
            return url
    listing = listing_base(current)
    wanted = listing_page_number(current) + 1
    for href in _HREFS(doc):
        url = urls.canonical(_absolute(current, href))
        if (
            urls.in_scope(url)
            and listing_base(url) == listing
            and listing_page_number(url) == wanted
        ):
            return url
    return None


def related_links(doc, events, base: str, rules: ExtractionRules, urls: PortalUrls) -> list[dict]:
    """The "Tin khác" list: links after its heading, up to the next heading."""
    if "related" in rules.selectors:
        found = css(rules.selectors["related"])(doc)
        return _link_list(found[0].iter("a") if found else [], base, urls)
    heading = _related_heading(events, rules)
    node = heading
    while node is not None and node.tag != "body":
        anchors = list(_anchors_after(node))
        if anchors:
            return _link_list(anchors, base, urls)
        node = node.getparent()
    return []


def related_missing(doc, events, rules: ExtractionRules) -> bool:
    """Whether the page itself holds no "Tin khác" links: no heading, or nothing after it.

    From the heading up, the first level that has following siblings is the list's place;
    an empty list there (a script is to fill it) is missing, not a reason to look further.
    """
    if "related" in rules.selectors:
        found = css(rules.selectors["related"])(doc)
        return not found or not any(a.get("href") for a in found[0].iter("a"))
    node = _related_heading(events, rules)
    while node is not None and node.tag != "body":
        if any(isinstance(sibling.tag, str) for sibling in node.itersiblings()):
            return next(_anchors_after(node), None) is None
        node = node.getparent()
    return True


def has_scripts(doc) -> bool:
    """Whether the page runs scripts (external or inline code, not JSON data)."""
    for script in doc.iter("script"):
        kind = (script.get("type") or "").strip().lower()
        if "json" in kind or kind == "text/template":
            continue
        if script.get("src") or (script.text or "").strip():
            return True
    return False


def _related_heading(events, rules: ExtractionRules):
    """The block element whose whole text is a related-list heading."""
    wanted = folded(rules.related_headings)
    longest = max((len(h) for h in wanted), default=0)
    for event in events:
        if isinstance(event, TextBlock) and len(event.text) <= longest + 2:
            if fold(event.text) in wanted:  # short: cheap
                return event.element
    return None


def _anchors_after(node):
    """Anchors in the siblings following ``node``, until the next heading."""
    for sibling in node.itersiblings():
        if not isinstance(sibling.tag, str):
            continue
        if sibling.tag in _HEADING_TAGS:
            return
        yield from (a for a in sibling.iter("a") if a.get("href"))


def _link_list(anchors, base: str, urls: PortalUrls) -> list[dict]:
    entries: dict[str, dict] = {}
    for anchor in anchors:
        title = clean_text(anchor.text_content()) or clean_text(anchor.get("title"))
        href = (anchor.get("href") or "").strip()
        if not title or not href or href.startswith(("#", "javascript:", "mailto:")):
            continue
        url = _absolute(base, href)
        url = urls.canonical(url) if urls.in_scope(url) else url
        entries.setdefault(url, {"url": url, "title": title})
    return list(entries.values())


def section_link(
    doc,
    base: str,
    meta,
    urls: PortalUrls,
    rules: ExtractionRules,
    article_url: str,
    title: str | None = None,
    headline=None,
) -> dict | None:
    """The article's section as ``{"name", "slug"}``, from the page itself.

    Cues, in order: a configured selector, WordPress ``rel="category tag"``
    links, the last crumb of a breadcrumb (marked as one, or any "Home »
    Section" trail of links), a link named like ``article:section``. A section
    with no listing has no link to name it: then the name is the breadcrumb's
    text crumb or ``article:section``, the slug the post element's WordPress
    ``category-<slug>`` class; what the page does not say stays null.
    """
    home = urls.canonical(article_url).split("/", 3)[:3]
    home_url = "/".join(home) + "/"
    candidates = []
    if "section" in rules.selectors:
        candidates = doc.cssselect(rules.selectors["section"])
    if not candidates:
        candidates = doc.xpath("//a[contains(concat(' ', @rel, ' '), ' category ')]")
    crumb = None
    if not candidates:
        crumb = _breadcrumb_crumb(doc, base, urls, home_url, title)
        if crumb is not None and not isinstance(crumb, str):
            candidates = [crumb]
    if not candidates and crumb is None:
        candidates = _trail_links(doc, base, urls, home_url)[-1:]
    named = crumb if isinstance(crumb, str) else meta.section
    if not candidates and named:
        candidates = [a for a in doc.xpath("//a[@href]") if clean_text(a.text_content()) == named]
    for anchor in candidates:
        url = urls.canonical(_absolute(base, anchor.get("href")))
        name = clean_text(anchor.text_content())
        if name and _is_listing(url, urls, home_url):
            return {"name": name, "slug": urls.slug(url)}
    slug = _category_class(doc, headline)
    if named or slug:
        return {"name": named or None, "slug": slug}
    return None


# Breadcrumb separators: » and › anywhere, > / | only standing alone ("Quý 2/2023" is text).
_CRUMB_SEPARATORS = frozenset("»›>/|")
_POST_CLASSES = frozenset(("hentry", "post", "type-post"))


def _breadcrumb_crumb(doc, base: str, urls: PortalUrls, home_url: str, title: str | None):
    """The last crumb before the article in the page's marked breadcrumb: its listing
    link, or its text when the section is not linked; None without a breadcrumb."""
    crumbs: list = []
    for container in doc.xpath(_BREADCRUMB_XPATH.removesuffix("//a[@href]")):
        # The first marked element that holds links (a "You are here" label holds none).
        _crumbs(container, crumbs)
        if any(not isinstance(crumb, str) for crumb in crumbs):
            break
        crumbs = []
    if crumbs and isinstance(crumbs[-1], str) and _names_title(crumbs[-1], title):
        crumbs.pop()  # the current page, shown as text
    for crumb in reversed(crumbs):
        if isinstance(crumb, str):
            return crumb
        url = urls.canonical(_absolute(base, crumb.get("href")))
        if _is_listing(url, urls, home_url):
            return crumb
        if url == home_url:
            return None
    return None


def _names_title(crumb: str, title: str | None) -> bool:
    """Whether a text crumb is the article's title, whole or cut short with "…"."""
    if not title:
        return False
    crumb, title = fold(crumb), fold(title)
    stem = crumb.removesuffix("…").removesuffix("...").strip()
    return crumb == title or (stem != crumb and bool(stem) and title.startswith(stem))


def _crumbs(element, out: list) -> None:
    """Links and text pieces of a breadcrumb in order; the current page's crumb left out."""
    if element.get("aria-current") == "page" or "breadcrumb_last" in (element.get("class") or ""):
        return
    if element.tag == "a" and element.get("href"):
        out.append(element)
        return
    _text_crumbs(element.text, out)
    for child in element:
        if isinstance(child.tag, str):
            _crumbs(child, out)
        _text_crumbs(child.tail, out)


def _text_crumbs(text: str | None, out: list) -> None:
    words: list[str] = []
    for word in clean_text(text).replace("»", " » ").replace("›", " › ").split() + ["|"]:
        if word not in _CRUMB_SEPARATORS:
            words.append(word)
        elif words:
            out.append(" ".join(words))
            words = []


def _category_class(doc, headline) -> str | None:
    """The slug of WordPress's ``category-<slug>`` class on the post element: the one that
    holds the headline, else the only post element of the page."""
    posts = []
    for element in doc.xpath("//*[contains(@class, 'category-')]"):
        tokens = (element.get("class") or "").split()
        if element.tag == "article" or any(_is_post_class(t) for t in tokens):
            slugs = [t.removeprefix("category-") for t in tokens if t.startswith("category-")]
            if slugs and slugs[0]:
                posts.append((element, slugs[0]))
    if headline is not None:
        for element, slug in posts:
            if element is headline or element in headline.iterancestors():
                return slug
        return None
    return posts[0][1] if len(posts) == 1 else None


def _is_post_class(token: str) -> bool:
    return token in _POST_CLASSES or (token.startswith("post-") and token[5:].isdigit())


_TRAIL_SEPARATORS = ("»", "›", ">", "/")
_TRAIL_MAX_LINKS = 6


def _trail_links(doc, base: str, urls: PortalUrls, home_url: str) -> list:
    """Listing links of a breadcrumb trail however it is marked up: a small
    block whose first link goes home and whose links are separated by » › > /."""
    for block in doc.iter(*BLOCK_TAGS):
        anchors = block.xpath(".//a[@href]")
        if not 2 <= len(anchors) <= _TRAIL_MAX_LINKS:
            continue
        if urls.canonical(_absolute(base, anchors[0].get("href"))) != home_url:
            continue
        if not any(separator in block.text_content() for separator in _TRAIL_SEPARATORS):
            continue
        listing = [
            a
            for a in anchors[1:]
            if _is_listing(urls.canonical(_absolute(base, a.get("href"))), urls, home_url)
        ]
        if listing:
            return listing
    return []
