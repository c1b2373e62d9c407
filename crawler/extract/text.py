"""Text normalisation shared by extraction and the cleaning pipeline."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

# Characters that render as nothing (zero-width, soft hyphen, BOM).
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# Whitespace is what str.isspace() says (as re's \s, which also covers U+00A0, U+2000-U+200A,
# U+202F, U+205F, U+3000): str.split() collapses it without a regex, at a third of the cost.
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def clean_text(text: str | None) -> str:
    """NFC, invisible characters dropped, whitespace collapsed, stripped."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    # Clean already (most calls: block text is cleaned again by fold and the pipeline): the
    # only whitespace or invisible character str.isprintable() lets through is " ".
    if text.isprintable() and "  " not in text and text[0] != " " and text[-1] != " ":
        return text
    if not text.isascii():
        text = _INVISIBLE.sub("", text)
    return " ".join(text.split())


def clean_paragraphs(text: str | None) -> str:
    """Clean each paragraph of a blank-line separated text; drop empty ones."""
    if not text:
        return ""
    paragraphs = (clean_text(p) for p in _PARAGRAPH_BREAK.split(text))
    return "\n\n".join(p for p in paragraphs if p)


def fold(text: str) -> str:
    """A form for comparing cue texts: cleaned, case-folded, no trailing colon."""
    return clean_text(text).casefold().rstrip(":：").strip()


def folded(texts: Iterable[str]) -> frozenset[str]:
    """The folded forms of a rule's cue texts, computed once per rule (not per page)."""
    return _folded(tuple(texts))


@functools.lru_cache(maxsize=64)
def _folded(texts: tuple[str, ...]) -> frozenset[str]:
    return frozenset(fold(text) for text in texts)
