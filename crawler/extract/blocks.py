"""Linearise an HTML tree into text blocks and images, in reading order.

Themes differ in classes and nesting, but every theme shows the article as a
sequence of blocks (headline, date line, paragraphs, images with captions,
author line). Working on that sequence rather than on class names is what
makes the extractor survive a markup change.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import html as lxml_html

from crawler.extract.text import clean_text

BLOCK_TAGS = frozenset(
    "address article aside blockquote body center dd details div dl dt fieldset "
    "figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre "
    "section table tbody td tfoot th thead tr ul".split()
)
SKIP_TAGS = frozenset(
    "script style noscript template svg iframe button select input textarea head "
    "object embed canvas video audio map".split()
)
EMPHASIS_TAGS = frozenset("em i small cite".split())
_BR = "\x00"


@dataclass(frozen=True)
class TextBlock:
    text: str
    element: lxml_html.HtmlElement
    emphasised: bool  # every character sits inside <em>/<i>/<small>: caption-like
    lines: tuple[str, ...]  # the text split at single <br>s (author and source lines)


@dataclass(frozen=True)
class ImageRef:
    element: lxml_html.HtmlElement


Event = TextBlock | ImageRef


def _text_block(text: str, element, emphasised: bool, lines: tuple[str, ...]) -> TextBlock:
    """``TextBlock(text, element, emphasised, lines)``, at half the cost: a frozen
    dataclass's __init__ sets each field through object.__setattr__, and the walk makes
    one block per paragraph, menu entry and table cell of every page."""
    block = _new(TextBlock)
    block.__dict__.update(text=text, element=element, emphasised=emphasised, lines=lines)
    return block


_new = object.__new__


def linearise(root: lxml_html.HtmlElement) -> list[Event]:
    """Text blocks and images of ``root`` in document order.

    Text belongs to its nearest block ancestor; a run of two or more ``<br>``
    splits a block (legacy markup that writes paragraphs that way).
    """
    walker = _Walker()
    walker.walk(root, False)
    walker.flush()
    return walker.events


class _Walker:
    # The walk visits every element of every page the crawl reads: locals over attribute
    # look-ups, and a fast path for the usual block (one text, no <br>).
    def __init__(self) -> None:
        self.events: list[Event] = []
        self._parts: list[tuple[str, bool]] = []
        self._owner: lxml_html.HtmlElement | None = None

    def flush(self) -> None:
        parts = self._parts
        if not parts:
            return
        self._parts = []
        if self._owner is None:
            return
        joined = "".join([text for text, _ in parts])
        if _BR not in joined:
            # No <br>: one segment, one line.
            cleaned = clean_text(joined)
            if cleaned:
                emphasised = all(emph for text, emph in parts if text.strip())
                self.events.append(_text_block(cleaned, self._owner, emphasised, (cleaned,)))
            return
        # Two or more <br> in a row (whitespace between them aside) end a paragraph.
        segments: list[list[tuple[str, bool]]] = [[]]
        breaks = 0
        for text, emph in parts:
            if text == _BR:
                breaks += 1
            elif text.strip():
                if breaks >= 2 and segments[-1]:
                    segments.append([])
                breaks = 0
            segments[-1].append((text, emph))
        for segment in segments:
            # One cleaning pass per segment; _BR survives it (it is no space).
            cleaned = clean_text("".join(t for t, _ in segment))
            lines = tuple(line for line in (part.strip() for part in cleaned.split(_BR)) if line)
            if not lines:
                continue
            emphasised = all(emph for t, emph in segment if t.replace(_BR, "").strip())
            self.events.append(_text_block(" ".join(lines), self._owner, emphasised, lines))

    def walk(self, element, emphasised: bool) -> bool:
        """Walk ``element``; whether it is a block element (walked or not)."""
        tag = element.tag
        if tag.__class__ is not str:
            return False  # comments and processing instructions (tag is a function)
        is_block = tag in BLOCK_TAGS
        if tag in SKIP_TAGS or element.get("hidden") is not None:
            return is_block
        if is_block:
            self._walk_block(element, emphasised)
            return True
        if tag == "br":
            self._parts.append((_BR, emphasised))
            return False
        if tag == "img":
            self.events.append(ImageRef(element))
            return False
        if tag in EMPHASIS_TAGS:
            emphasised = True
        parts = self._parts
        text = element.text
        if text:
            parts.append((text, emphasised))
        for child in element:
            self.walk(child, emphasised)
            tail = child.tail
            if tail:
                # A block child flushed: the list to append to may be a new one.
                self._parts.append((tail, emphasised))
        return False

    def _walk_block(self, element, emphasised: bool) -> None:
        self.flush()
        outer_owner, self._owner = self._owner, element
        text = element.text
        if text:
            self._parts.append((text, emphasised))
        for child in element:
            if self.walk(child, emphasised):
                # Text after a nested block is a new block of this element.
                self._owner = element
            tail = child.tail
            if tail:
                self._parts.append((tail, emphasised))
        self.flush()
        self._owner = outer_owner


def contains(ancestor, element) -> bool:
    """True when ``element`` is ``ancestor`` or one of its descendants."""
    while element is not None:
        if element is ancestor:
            return True
        element = element.getparent()
    return False
