"""Text normalisation shared by extraction and the cleaning pipeline."""

from __future__ import annotations

import re
import unicodedata

# Characters that render as nothing (zero-width, soft hyphen, BOM).
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACES = re.compile(r"[\s\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def clean_text(text: str | None) -> str:
    """NFC, invisible characters dropped, whitespace collapsed, stripped."""
    if not text:
        return ""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    return _SPACES.sub(" ", text).strip()


def clean_paragraphs(text: str | None) -> str:
    """Clean each paragraph of a blank-line separated text; drop empty ones."""
    if not text:
        return ""
    paragraphs = (clean_text(p) for p in _PARAGRAPH_BREAK.split(text))
    return "\n\n".join(p for p in paragraphs if p)


def fold(text: str) -> str:
    """A form for comparing cue texts: cleaned, case-folded, no trailing colon."""
    return clean_text(text).casefold().rstrip(":：").strip()
