"""Extract an article page into raw fields.

The page is read as a sequence of blocks (see ``blocks.py``): the headline,
the date line that follows it, then sapo, body paragraphs, images with their
captions and the author line, up to the first furniture marker ("Tiện ích
thông tin"). Head metadata (canonical link, og:/article: tags, JSON-LD,
shortlink) is used when present and never required.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import urljoin

from lxml import etree
from lxml import html as lxml_html

from crawler.extract import head
from crawler.extract.blocks import BLOCK_TAGS, ImageRef, TextBlock, contains, linearise
from crawler.extract.images import caption_for, image_url
from crawler.extract.links import has_scripts, related_links, related_missing, section_link
from crawler.extract.rules import ExtractionRules, css
from crawler.extract.text import clean_text, fold, folded
from crawler.urls import PortalUrls

# "31/03/2023 07:45", optionally "31/03/2023 - 07:45" or "07:45 31/03/2023".
DATE_LINE = re.compile(
    r"(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})\s*(?:[-,|]\s*)?(?P<H>\d{1,2})[:h](?P<M>\d{2})"
    r"|(?P<H2>\d{1,2})[:h](?P<M2>\d{2})\s*(?:[-,|]\s*)?(?P<d2>\d{1,2})/(?P<m2>\d{1,2})/(?P<y2>\d{4})"
)
# A short line that ends like a sentence is body text, not an author's name.
_SENTENCE_END = re.compile(r"[!?…;:]$|[^A-ZĐ\s]\.$")
_AUTHOR_MAX_CHARS = 60
_AUTHOR_MAX_WORDS = 8
# How many blocks after the headline the date line may be.
_DATE_LINE_WINDOW = 8
_MARKER_MAX_CHARS = 80
# Class or id words themes give the lead paragraph (sapo): "sapo", "news-lead", "entry-summary"…
_LEAD_MARK = re.compile(
    r"(?:^|[-_])(?:sapo|lead|chapo|chapeau|summary|excerpt|intro|tomtat)(?:$|[-_])"
)
_BOLD_STYLE = re.compile(r"font-weight\s*:\s*(?:bold|[6-9]00)", re.IGNORECASE)


class ExtractionError(ValueError):
    """The document cannot be read as HTML at all."""


@dataclass
class RawArticle:
    """What the page shows, before cleaning and date parsing."""

    url: str
    post_id: int | None = None
    title: str | None = None
    sapo: str | None = None
    paragraphs: list[str] = field(default_factory=list)
    author: str | None = None
    source: str | None = None
    published: str | None = None
    modified: str | None = None
    images: list[dict] = field(default_factory=list)
    related: list[dict] = field(default_factory=list)
    section: dict | None = None
    # No "Tin khác" links in the HTML while scripts are there that would build them.
    related_scripted: bool = False


# lxml.html's parser, but every element an HtmlElement: its own class lookup is Python code
# run for every element the extractor touches, only to give form controls their classes.
_PARSER = lxml_html.HTMLParser()
_PARSER.set_element_class_lookup(
    etree.ElementDefaultClassLookup(
        element=lxml_html.HtmlElement,
        comment=lxml_html.HtmlComment,
        pi=lxml_html.HtmlProcessingInstruction,
        entity=lxml_html.HtmlEntity,
    )
)


def parse_html(html: str) -> lxml_html.HtmlElement:
    if not html or not html.strip():
        raise ExtractionError("empty document")
    # NFD pages: compose before matching cue texts such as "Tiện ích thông tin".
    html = unicodedata.normalize("NFC", html)
    try:
        return lxml_html.document_fromstring(html, parser=_PARSER)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractionError(f"unparseable HTML: {exc}") from exc


def extract_article(html: str, url: str, urls: PortalUrls, rules: ExtractionRules) -> RawArticle:
    """Raw fields of the article page ``html`` fetched from ``url``."""
    doc = parse_html(html)
    base = head.base_href(doc, url)
    meta = head.read(doc)
    article = RawArticle(url=_article_url(meta, base, url, urls))
    article.post_id = meta.post_id
    article.published = meta.published
    article.modified = meta.modified

    events = linearise(doc.body if doc.find("body") is not None else doc)
    title_index, article.title = _title(doc, events, meta, rules)
    date_index = _date_line(events, title_index)
    if date_index is not None:
        date_block = events[date_index]
        article.published = article.published or _date_text(date_block.text)
        article.source = _original_link(date_block.element, base, rules)
    start = (date_index if date_index is not None else title_index) + 1
    body_events = _content_range(doc, events, start, rules)
    _fill_content(article, doc, body_events, base, urls, rules)
    article.related = related_links(doc, events, base, rules, urls)
    article.related_scripted = related_missing(doc, events, rules) and has_scripts(doc)
    headline = events[title_index].element if title_index >= 0 else None
    article.section = section_link(
        doc, base, meta, urls, rules, article.url, title=article.title, headline=headline
    )
    return article


def _article_url(meta: head.HeadMeta, base: str, url: str, urls: PortalUrls) -> str:
    """The canonical link (or og:url) when it names an article, else the page URL."""
    for candidate in (meta.canonical, meta.og_url):
        if candidate and urls.is_article(urls.canonical(urljoin(base, candidate))):
            return urls.canonical(urljoin(base, candidate))
    return urls.canonical(url)


def _title(doc, events, meta: head.HeadMeta, rules: ExtractionRules):
    """Headline text and the index of its block (-1 when not in the body)."""
    element = _selected(doc, rules, "title")
    if element is None:
        element = _headline_element(events, meta)
    if element is not None:
        for index, event in enumerate(events):
            if isinstance(event, TextBlock) and contains(element, event.element):
                return index, clean_text(element.text_content())
    fallback = meta.og_title or meta.ld_headline or _strip_site_name(meta.title)
    return -1, fallback or None


def _headline_element(events, meta: head.HeadMeta):
    """The block whose text the <title>/og:title begins with, longest first."""
    references = [fold(t) for t in (meta.og_title, meta.ld_headline, meta.title) if t]
    best, best_len = None, 0
    for event in events:
        if not isinstance(event, TextBlock):
            continue
        if len(event.text) <= best_len or len(event.text) < 8:
            continue
        text = event.text.casefold()  # block text is clean already
        if any(ref.startswith(text) for ref in references):
            best, best_len = event.element, len(text)
    if best is None:
        h1 = [e for e in events if isinstance(e, TextBlock) and e.element.tag == "h1"]
        if len(h1) == 1:
            best = h1[0].element
    return best


def _strip_site_name(title: str | None) -> str | None:
    if not title:
        return None
    for separator in (" – ", " | ", " - ", " — "):
        if separator in title:
            return title.rsplit(separator, 1)[0]
    return title


def _date_line(events, title_index: int) -> int | None:
    stop = len(events) if title_index < 0 else title_index + 1 + _DATE_LINE_WINDOW
    for index in range(title_index + 1, min(stop, len(events))):
        event = events[index]
        if isinstance(event, TextBlock) and DATE_LINE.search(event.text):
            return index
    return None


def _date_text(text: str) -> str | None:
    match = DATE_LINE.search(text)
    if not match:
        return None
    g = match.groupdict()
    if g["d"]:
        return f"{g['d']}/{g['m']}/{g['y']} {g['H']}:{g['M']}"
    return f"{g['d2']}/{g['m2']}/{g['y2']} {g['H2']}:{g['M2']}"


def _original_link(element, base: str, rules: ExtractionRules) -> str | None:
    """The "Gốc" link of the date line (it may sit in a sibling element)."""
    wanted = folded(rules.original_link_texts)
    for scope in (element, element.getparent()):
        if scope is None:
            continue
        for link in scope.iter("a"):
            if fold(link.text_content()) in wanted and link.get("href"):
                return urljoin(base, link.get("href").strip())
    return None


def _content_range(doc, events, start: int, rules: ExtractionRules):
    """Events from the first block after the date line to the furniture."""
    container = _selected(doc, rules, "content")
    if container is not None:
        return [e for e in events[start:] if contains(container, e.element)]
    markers = tuple(fold(m) for m in rules.content_end_markers)
    for end in range(start, len(events)):
        event = events[end]
        # Markers are headings: short blocks, so long paragraphs need no folding.
        if isinstance(event, TextBlock) and len(event.text) <= _MARKER_MAX_CHARS:
            if event.text.casefold().startswith(markers):
                return events[start:end]
    # No furniture marker: stay inside the container that holds the first
    # paragraph after the date line, so sidebars and footers stay out.
    container = _paragraph_container(events, start)
    if container is None:
        return events[start:]
    return [e for e in events[start:] if contains(container, e.element)]


def _paragraph_container(events, start: int):
    for event in events[start:]:
        if isinstance(event, TextBlock) and event.element.tag == "p":
            parent = event.element.getparent()
            while parent is not None and parent.tag not in (
                "div",
                "article",
                "section",
                "main",
                "td",
                "body",
            ):
                parent = parent.getparent()
            return parent
    return None


def _fill_content(article: RawArticle, doc, events, page_url, urls: PortalUrls, rules) -> None:
    captions: set[int] = set()
    texts: list[TextBlock] = []
    for index, event in enumerate(events):
        if isinstance(event, ImageRef):
            src = image_url(event.element, page_url, urls)
            if not src:
                continue
            caption_index = caption_for(events, index, rules.source_prefixes)
            caption = None
            if caption_index is not None:
                captions.add(caption_index)
                caption = events[caption_index].text
            article.images.append({"url": src, "caption": caption})
        elif index not in captions and not _is_header_leftover(event, rules):
            texts.append(event)
    sapo_element = _selected(doc, rules, "sapo")
    author_element = _selected(doc, rules, "author")
    if author_element is not None:
        texts = [t for t in texts if not contains(author_element, t.element)]
    if sapo_element is None and texts:
        sapo_element = _lead_element(texts)
    if sapo_element is not None:
        texts = [t for t in texts if not contains(sapo_element, t.element)]
        article.sapo = clean_text(sapo_element.text_content())
    elif texts and len(texts) > 1 and _is_bold(texts[0]):
        # No lead paragraph marked on the page: the sapo is null and the first
        # paragraph stays in the body (a field is never taken from a neighbour).
        article.sapo = texts.pop(0).text
    # The author and source lines close the body; legacy markup puts them in
    # the last paragraph after single <br>s, so work on lines there.
    segments = [list(block.lines) for block in texts]
    source_line = _source_line(_last_line(segments), rules)
    if source_line is not None:
        _pop_last_line(segments)
        article.source = article.source or source_line
    last = _last_line(segments)
    if author_element is not None:
        article.author = clean_text(author_element.text_content())
    elif last is not None and _looks_like_author(last):
        article.author = _pop_last_line(segments)
    paragraphs = [" ".join(lines) for lines in segments if lines]
    article.paragraphs = [
        p for p in paragraphs if not any(rx.search(p) for rx in rules.furniture_patterns)
    ]


def _selected(doc, rules: ExtractionRules, part: str):
    """The element a configured selector names for ``part``, if any."""
    if part not in rules.selectors:
        return None
    found = css(rules.selectors[part])(doc)
    return found[0] if found else None


def _lead_element(texts: list[TextBlock]):
    """The element a theme marks as the lead (class or id "sapo", "lead", "summary"…)
    around the first text block, if it holds that block and not the whole body."""
    first, last = texts[0].element, texts[-1].element
    for element in (first, *first.iterancestors()):
        if element.tag in ("body", "html"):
            return None
        marks = f"{element.get('class') or ''} {element.get('id') or ''}".lower().split()
        if any(_LEAD_MARK.search(mark) for mark in marks):
            return element if len(texts) == 1 or not contains(element, last) else None
    return None


def _is_bold(block: TextBlock) -> bool:
    """Whether the whole block is set in bold (<b>, <strong>, font-weight), as portals
    set the lead paragraph apart from the body."""
    element = block.element
    if _bold_element(element):
        return True
    for ancestor in element.iterancestors():
        if _bold_element(ancestor):
            return True
        if ancestor.tag in BLOCK_TAGS:
            break
    # Bold runs of this block (not of nested blocks); a legacy block split at <br><br>
    # shares its element with other blocks, so only runs within this block's text count.
    runs = []
    for run in element.iterdescendants():
        if not _bold_element(run) or _nested_in(run, element):
            continue
        text = clean_text(run.text_content())
        if text and text in block.text:
            runs.append(text)
    covered = "".join(runs).replace(" ", "")
    return bool(covered) and covered == block.text.replace(" ", "")


def _bold_element(element) -> bool:
    if element.tag in ("b", "strong"):
        return True
    return bool(_BOLD_STYLE.search(element.get("style") or ""))


def _nested_in(run, element) -> bool:
    """Whether ``run`` sits in a block or another bold run below ``element``."""
    for ancestor in run.iterancestors():
        if ancestor is element:
            return False
        if ancestor.tag in BLOCK_TAGS or _bold_element(ancestor):
            return True
    return False


def _last_line(segments: list[list[str]]) -> str | None:
    return segments[-1][-1] if segments else None


def _pop_last_line(segments: list[list[str]]) -> str:
    line = segments[-1].pop()
    if not segments[-1]:
        segments.pop()
    return line


def _is_header_leftover(event, rules: ExtractionRules) -> bool:
    """A link-only crumb of the date line, e.g. a lone "Gốc" or "Print"."""
    wanted, longest = _leftover_texts(tuple(rules.original_link_texts))
    # Folding a clean NFC text (block text is clean, and NFC but for freaks) shortens it by
    # its trailing colons and one space at most: a paragraph needs no folding.
    text = event.text
    if len(text.rstrip(":：")) > longest + 1 and unicodedata.is_normalized("NFC", text):
        return False
    return fold(text) in wanted


@functools.lru_cache(maxsize=16)
def _leftover_texts(original_link_texts: tuple[str, ...]) -> tuple[frozenset[str], int]:
    wanted = folded(original_link_texts) | {"print", "in bài", "in"}
    return wanted, max(len(text) for text in wanted)


def _source_line(line: str | None, rules: ExtractionRules) -> str | None:
    """What a "Nguồn. haiphong.gov.vn" line names, or None for other lines."""
    if not line or len(line) > 200:
        return None
    for pattern in _source_patterns(tuple(rules.source_prefixes)):
        match = pattern.match(line)
        if match:
            return match.group(1).strip()
    return None


@functools.lru_cache(maxsize=16)
def _source_patterns(prefixes: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """The source-line patterns of a rule, compiled once (not looked up per page)."""
    return tuple(
        re.compile(rf"^{re.escape(prefix)}\s*[.:：]\s*(.+)$", re.IGNORECASE) for prefix in prefixes
    )


def _looks_like_author(text: str) -> bool:
    """A name or initials alone on the last line: short, no sentence ending."""
    if len(text) > _AUTHOR_MAX_CHARS or len(text.split()) > _AUTHOR_MAX_WORDS:
        return False
    return not _SENTENCE_END.search(text)
