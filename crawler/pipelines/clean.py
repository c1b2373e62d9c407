"""Text cleaning: NFC, whitespace, furniture paragraphs."""

from __future__ import annotations

import logging
import re

from crawler.config import rules_from_settings
from crawler.extract.text import clean_paragraphs, clean_text
from crawler.items import ArticleItem

logger = logging.getLogger(__name__)


class CleanTextPipeline:
    """Normalise every text field to NFC with single spaces; drop furniture.

    Furniture that slipped into the body (share prompts, QR captions) is
    removed paragraph by paragraph using ``PORTAL_FURNITURE_PATTERNS``.
    """

    def __init__(self, furniture: list[re.Pattern[str]], stats=None):
        self.furniture = furniture
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        rules = rules_from_settings(crawler.settings)
        return cls(list(rules.furniture_patterns), crawler.stats)

    def process_item(self, item):
        if not isinstance(item, ArticleItem):
            return item
        item.title = clean_text(item.title) or None
        item.sapo = clean_text(item.sapo) or None
        item.author = clean_text(item.author) or None
        item.source = clean_text(item.source) or None
        paragraphs = clean_paragraphs(item.body).split("\n\n") if item.body else []
        kept = [p for p in paragraphs if p and not self._is_furniture(p)]
        if self.stats and len(kept) < len([p for p in paragraphs if p]):
            self.stats.inc_value("items/furniture_removed", len(paragraphs) - len(kept))
        item.body = "\n\n".join(kept) or None
        if item.section:
            item.section = {
                "name": clean_text(item.section.get("name")) or None,
                "slug": clean_text(item.section.get("slug")) or None,
            }
        item.images = [
            {"url": image["url"], "caption": clean_text(image.get("caption")) or None}
            for image in item.images
        ]
        item.related = [
            {"url": link["url"], "title": clean_text(link.get("title"))} for link in item.related
        ]
        return item

    def _is_furniture(self, paragraph: str) -> bool:
        return any(pattern.search(paragraph) for pattern in self.furniture)
