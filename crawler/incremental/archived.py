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
    # url -> its PendingRecord until written, then the name of the WARC file holding it
    images: dict[str, object] = field(default_factory=dict)

    def add_image(self, url: str, pending) -> None:
        """An image's record sent to the writer (a PendingRecord). Once written only the
        file's name is kept: the record, its future and its result would otherwise stay in
        memory until the crawl's end, one per image."""
        self.images[url] = pending

        def written(_future) -> None:
            if self.images.get(url) is pending:
                filename = written_file(pending)
                if filename is None:
                    del self.images[url]  # not written: not archived
                else:
                    self.images[url] = filename

        pending.written.add_done_callback(written)

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
            filename = pending if isinstance(pending, str) else written_file(pending)
            if filename is not None and stored(filename):
                images.add(url)
        return len(self.versions) - committed, images

    def portable(self) -> ArchivedThisRun:
        """This run's record without what only this process holds (futures): for the
        finishing worker of a distributed crawl."""
        images = {url: written_file(pending) for url, pending in self.images.items()}
        return ArchivedThisRun(
            self.crawl_id,
            self.needs_warc,
            self.needs_items,
            dict(self.versions),
            dict(self.recaptured),
            set(self.exported),
            {url: name for url, name in images.items() if name is not None},
        )

    def merge(self, other: ArchivedThisRun) -> None:
        self.versions.update(other.versions)
        self.recaptured.update(other.recaptured)
        self.exported |= other.exported
        self.images.update(other.images)


def written_file(pending) -> str | None:
    """The WARC file name a PendingRecord was written to, None if it was not (yet)."""
    if isinstance(pending, str):
        return pending
    written = pending.written
    if written.done() and not written.cancelled() and written.exception() is None:
        return written.result()[0].filename
    return None
