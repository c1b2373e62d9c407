"""What one crawl archived, held until its files are stored: only then does the incremental
state record it. An article counts as archived when its item was exported and its WARC
record and its item are both in the store; an image when its record is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from crawler.incremental.state import ArticleCapture, CrawlState, KnownArticle
from crawler.layout import items_key, warc_key

logger = logging.getLogger(__name__)


@dataclass
class ArchivedThisRun:
    crawl_id: str
    needs_warc: bool  # WARC records are written: a capture must be in a stored file
    needs_items: bool  # the items feed is written: the crawl's items file must be stored
    versions: dict[str, KnownArticle] = field(default_factory=dict)
    recaptured: dict[str, ArticleCapture] = field(default_factory=dict)
    exported: set[str] = field(default_factory=set)
    images: dict[str, object] = field(default_factory=dict)  # url -> its PendingRecord

    def commit(self, state: CrawlState, stored_keys: set[str]) -> tuple[int, set[str]]:
        """Record in ``state`` what ``stored_keys`` (the crawl's files stored and verified)
        hold; (articles of this run not recorded, image URLs archived)."""
        items_stored = not self.needs_items or items_key(self.crawl_id) in stored_keys

        def stored(filename: str | None) -> bool:
            if not self.needs_warc:
                return True
            return filename is not None and warc_key(self.crawl_id, filename) in stored_keys

        committed = 0
        for url, article in self.versions.items():
            capture = article.capture
            if url in self.exported and items_stored and capture and stored(capture.filename):
                state.record(article)
                committed += 1
        for url, capture in self.recaptured.items():
            if stored(capture.filename):
                state.with_capture(url, capture)
        images = set()
        for url, pending in self.images.items():
            written = pending.written
            if written.done() and not written.cancelled() and written.exception() is None:
                if stored(written.result()[0].filename):
                    images.add(url)
        return len(self.versions) - committed, images
