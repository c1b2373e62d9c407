"""The extractor's fast paths give exactly what their plain definitions give.

Extraction runs on every page of a crawl, so its hot spots take short cuts (issue 13): text
cleaned without regexes, a block walk with a fast path, cue texts folded once, <meta> tags
read once, URL answers remembered, plain element classes. Each is checked here against the
plain definition it replaces (kept in this file), on tricky inputs and on fixture pages of
both themes.
"""

from __future__ import annotations

import re
import sys
import unicodedata

import pytest
from lxml import etree
from lxml import html as lxml_html
from scrapy.settings import Settings

from crawler.config import PortalConfig
from crawler.extract import blocks, head
from crawler.extract.article import _is_header_leftover, parse_html
from crawler.extract.blocks import BLOCK_TAGS, EMPHASIS_TAGS, SKIP_TAGS, ImageRef, TextBlock
from crawler.extract.rules import ExtractionRules
from crawler.extract.text import clean_text, fold
from crawler.urls import PortalUrls
from fixture_portal import build_site
from fixture_portal.pages import Router
from tests.helpers import project_settings

# -- the plain definitions ----------------------------------------------------------------

_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACES = re.compile(r"[\s\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def plain_clean_text(text: str | None) -> str:
    if not text:
        return ""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    return _SPACES.sub(" ", text).strip()


def plain_linearise(root) -> list[tuple]:
    """The block walk as first written: a recursion with no short cuts."""
    events: list[tuple] = []
    parts: list[tuple[str, bool]] = []
    owner = [None]

    def flush() -> None:
        if owner[0] is None or not parts:
            parts.clear()
            return
        segments: list[list[tuple[str, bool]]] = [[]]
        breaks = 0
        for text, emph in parts:
            if text == "\x00":
                breaks += 1
            elif text.strip():
                if breaks >= 2 and segments[-1]:
                    segments.append([])
                breaks = 0
            segments[-1].append((text, emph))
        for segment in segments:
            cleaned = plain_clean_text("".join(t for t, _ in segment))
            lines = tuple(line for line in (p.strip() for p in cleaned.split("\x00")) if line)
            if not lines:
                continue
            emphasised = all(emph for t, emph in segment if t.replace("\x00", "").strip())
            events.append(("text", " ".join(lines), owner[0], emphasised, lines))
        parts.clear()

    def walk(element, emphasis: int) -> None:
        tag = element.tag if isinstance(element.tag, str) else None
        if tag is None or tag in SKIP_TAGS or element.get("hidden") is not None:
            return
        if tag == "br":
            parts.append(("\x00", emphasis > 0))
            return
        if tag == "img":
            events.append(("image", element))
            return
        is_block = tag in BLOCK_TAGS
        if tag in EMPHASIS_TAGS:
            emphasis += 1
        if is_block:
            flush()
            outer, owner[0] = owner[0], element
        if element.text:
            parts.append((element.text, emphasis > 0))
        for child in element:
            walk(child, emphasis)
            if is_block and isinstance(child.tag, str) and child.tag in BLOCK_TAGS:
                owner[0] = element
            if child.tail:
                parts.append((child.tail, emphasis > 0))
        if is_block:
            flush()
            owner[0] = outer

    walk(root, 0)
    flush()
    return events


def as_tuples(events) -> list[tuple]:
    out = []
    for event in events:
        if isinstance(event, ImageRef):
            out.append(("image", event.element))
        else:
            assert isinstance(event, TextBlock)
            out.append(("text", event.text, event.element, event.emphasised, event.lines))
    return out


def plain_meta(doc, *names: str) -> str | None:
    for name in names:
        for attr in ("property", "name", "itemprop"):
            found = doc.xpath(f"//meta[@{attr}=$name]/@content", name=name)
            if found and found[0].strip():
                return found[0].strip()
    return None


# -- text ---------------------------------------------------------------------------------

WHITESPACE = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
TEXTS = [
    None,
    "",
    " \t\n ",
    "Hải Phòng",
    "  Hải\u00a0\u00a0Phòng \u3000 tăng\u2009cường\n\n công tác ",
    unicodedata.normalize("NFD", " Thành phố Hải Phòng  đã tổ chức "),
    "Gốc\u200b \u00ad\ufeff",
    "x" + WHITESPACE + "y" + WHITESPACE,
    "e\u00ad\u0301 soft hyphen between a letter and its accent",
    "\x00a\x00 \x00\x00b",
    "plain ascii  text\r\n\x0b\x0c\x1c\x1d\x1e\x1f\x85 end",
]


@pytest.mark.parametrize("text", TEXTS)
def test_clean_text_is_the_regex_definition(text):
    assert clean_text(text) == plain_clean_text(text)


def test_clean_text_collapses_every_whitespace_character():
    # The premise of its short cut for clean text: " " is the only printable one of them.
    assert [c for c in WHITESPACE + "\u200b\u200c\u200d\u2060\ufeff\u00ad" if c.isprintable()] == [
        " "
    ]
    for char in WHITESPACE:
        assert clean_text(f" a{char}{char}b{char}") == plain_clean_text(f" a{char}{char}b{char}")


# -- the block walk -----------------------------------------------------------------------

HAND_WRITTEN = [
    "<p>one</p><p>two<br>lines<br><br>new paragraph<br> <br>third</p>",
    "<div>lead <em>all</em> <p>inner</p> tail after block <i>em</i></div>",
    "<p><em>caption <small>only</small></em></p><p><i>half</i> not</p>",
    "<p>\n<em>caption</em> \n</p><div> <i>one</i><br>\n<i>two</i> </div>",
    "<div hidden><p>hidden</p></div><p>shown<span hidden>x</span> end</p><div hidden>t</div>",
    "<p>a<!-- comment -->b<?pi x?>c</p><script>skip()</script>after script",
    "<table><tr><td>1</td><td><img src='/a.jpg'>2</td></tr></table>"
    "<center><img src=b.jpg></center>",
    "<ul><li>one<ul><li>nested</li></ul>after nested</li></ul>",
    "<form>label <input value=x> <label>for</label><select><option>o</select></form>",
    "<p>\u200b\u00a0</p><p>   </p><p><br><br></p><div><span>text \x00 with nul</span></div>",
]


def _documents():
    for markup in HAND_WRITTEN:
        yield parse_html(f"<html><body>{markup}</body></html>")
    site = build_site(seed=3, n_articles=150)
    for theme in ("classic", "alt"):
        router = Router(site, theme, "http://127.0.0.1:8000/")
        # The hard cases (legacy <br> markup, entities, NFD, malformed) and some plain ones.
        articles = [a for a in site.articles if a.kind == "article"]
        chosen = [a for a in articles if a.quirk] + articles[:10]
        for article in chosen:
            answer = router.resolve("/" + article.path)
            if answer.status == 200 and "html" in answer.content_type:
                yield parse_html(answer.body.decode("utf-8", "replace"))


def test_linearise_is_the_plain_walk():
    count = 0
    for doc in _documents():
        root = doc.body if doc.find("body") is not None else doc
        assert as_tuples(blocks.linearise(root)) == plain_linearise(root)
        count += 1
    assert count > len(HAND_WRITTEN) + 20


def test_text_blocks_are_frozen_dataclasses_as_before():
    doc = parse_html("<html><body><p>one</p></body></html>")
    (event,) = blocks.linearise(doc.body)
    assert event == TextBlock("one", doc.body[0], False, ("one",))
    with pytest.raises(AttributeError):
        event.text = "two"


def test_parsed_elements_match_lxml_html_but_for_form_classes():
    markup = HAND_WRITTEN[-2] + HAND_WRITTEN[1]
    ours = parse_html(f"<html><body>{markup}</body></html>")
    theirs = lxml_html.document_fromstring(f"<html><body>{markup}</body></html>")
    assert [e.tag for e in ours.iter()] == [e.tag for e in theirs.iter()]
    assert ours.text_content() == theirs.text_content()
    assert all(isinstance(e, lxml_html.HtmlMixin) for e in ours.iter())
    assert as_tuples(blocks.linearise(ours.body)) == plain_linearise(ours.body)


# -- cues and metadata --------------------------------------------------------------------

LEFTOVER_TEXTS = [
    "Gốc",
    "GỐC:",
    "Gốc :",
    "Gốc::::::",
    "gốc：",
    "In bài",
    "Print",
    "In",
    "Inn",
    unicodedata.normalize("NFD", "Gốc"),
    "Go\u0302\u0301c",  # a decomposed "Gốc" that no clean block has, but may
    "Gốc " + ":" * 50,
    "In bài :",  # as long as a leftover may be
    "In bài ::x",
    "Một đoạn văn dài của bài viết, không phải là liên kết Gốc.",
    "Xem bài gốc",
    "XEM BÀI GỐC: :",
    unicodedata.normalize("NFD", "Xem bài gốc"),  # longer than it folds to
]


@pytest.mark.parametrize("text", LEFTOVER_TEXTS)
@pytest.mark.parametrize("links", [("Gốc",), ("Xem bài gốc", "Gốc")])
def test_header_leftover_is_fold_membership(text, links):
    rules = ExtractionRules(original_link_texts=links)
    wanted = {fold(t) for t in rules.original_link_texts} | {"print", "in bài", "in"}
    event = TextBlock(text, None, False, (text,))
    assert _is_header_leftover(event, rules) == (fold(text) in wanted)


def test_head_metadata_is_the_xpath_definition():
    doc = parse_html(
        """<html><head>
        <meta property="og:title" content="  ">
        <meta name="og:title" content=" Tiêu đề ">
        <meta property="og:title" content="second, never read">
        <meta property="article:published_time" content="2023-05-12T08:30:00+07:00">
        <meta itemprop="datePublished" content="2023-01-01">
        <meta name="og:url">
        <meta property="og:url" content="">
        </head><body><meta itemprop="dateModified" content="2023-06-01"></body></html>"""
    )
    for names in (
        ("og:title",),
        ("og:url",),
        ("article:published_time", "datePublished"),
        ("article:modified_time", "og:updated_time", "dateModified"),
        ("absent",),
    ):
        assert head._meta(doc, *names) == plain_meta(doc, *names)
    meta = head.read(doc)
    assert (meta.og_title, meta.og_url) == ("Tiêu đề", None)
    assert (meta.published, meta.modified) == ("2023-05-12T08:30:00+07:00", "2023-06-01")


# -- URLs ---------------------------------------------------------------------------------

URLS = [
    "http://127.0.0.1:8000/bai-viet.html/amp/?utm_source=x#top",
    "HTTP://127.0.0.1:8000/bai-viet.html?b=2&a=1&fbclid=y",
    "http://127.0.0.1:8000/chuyen-muc/tin-tuc/page/2/",
    "https://example.org/bai-viet.html",
    "mailto:x@example.org",
    " http://127.0.0.1:8000/khac.html ",
]


def test_url_answers_are_remembered_but_never_differ():
    config = PortalConfig.from_settings(
        Settings(project_settings(PORTAL_URL="http://127.0.0.1:8000/"))
    )
    urls = config.urls
    fresh = PortalUrls(urls.hosts, urls.article_path, urls.tracking_params)
    for _ in range(2):  # the second round is answered from memory
        for url in URLS:
            assert urls.canonical(url) == fresh._canonical_form(url)
            assert urls.in_scope(url) == fresh._in_scope(url)
            assert urls.is_article(url) == fresh._is_article(url)
    assert urls == fresh  # what is remembered is no part of the value


def test_url_memory_is_bounded(monkeypatch):
    from crawler import urls as urls_module

    monkeypatch.setattr(urls_module, "_CACHE_MAX", 10)
    portal = PortalUrls(frozenset({"127.0.0.1:8000"}), re.compile(r"\.html$"), ())
    for n in range(35):
        url = f"http://127.0.0.1:8000/bai-{n}.html"
        assert portal.canonical(url) == url
        assert portal.is_article(url)
    assert 0 < len(portal._canonical) <= 10
    assert 0 < len(portal._article) <= 10


def test_compiled_xpath_answers_as_the_text_form():
    doc = parse_html(_documents_first_fixture_page())
    for text in ("//a/@href", "//meta[@content]", "//title", ".//img"):
        assert etree.XPath(text)(doc) == doc.xpath(text)


def _documents_first_fixture_page() -> str:
    site = build_site(seed=3, n_articles=150)
    article = next(a for a in site.articles if a.kind == "article" and not a.quirk)
    return (
        Router(site, "classic", "http://127.0.0.1:8000/").resolve("/" + article.path).body.decode()
    )


HREFS = [
    "http://127.0.0.1:8000/a.html?",
    "HTTP://Host.example/x#",
    "//127.0.0.1:8000/b.html",
    "http:relative.html",
    "https://host.example/c.html",
    "http://\t/path",
    "/chuyen-muc/x/",
    "?page=2",
    "#top",
    " http://127.0.0.1:8000/d.html ",
    "",
    None,
]


def test_joined_links_are_urljoin():
    from urllib.parse import urljoin

    from crawler.extract.links import _absolute

    for base in ("http://127.0.0.1:8000/x/y.html", "https://host.example/", "", "http://o/z"):
        for _ in range(2):  # the second round is answered from memory where it may be
            for href in HREFS:
                assert _absolute(base, href) == urljoin(base, (href or "").strip()), (base, href)
