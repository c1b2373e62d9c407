"""What one crawl archived, held until its files are stored: only then does the incremental
state record it. An article counts as archived when its item was exported and its WARC
record and its item are both in the store; an image when its record is.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from dataclasses import dataclass, field

from crawler.incremental.spill import SpillMap
from crawler.incremental.state import ArticleCapture, CrawlState, KnownArticle
from crawler.layout import items_key, warc_key
from crawler.urls import UrlSet

logger = logging.getLogger(__name__)


@dataclass
class ArchivedThisRun:
    crawl_id: str
    needs_warc: bool  # WARC records are written: a capture must be in a stored file
    needs_items: bool  # the items feed is written: the crawl's items file must be stored
    # One entry per article or image until the crawl's end: on disk (spill.py), so that
    # the crawl's memory does not grow with the portal.
    versions: MutableMapping[str, KnownArticle] = field(default_factory=SpillMap)
    recaptured: MutableMapping[str, ArticleCapture] = field(default_factory=SpillMap)
    exported: UrlSet = field(default_factory=UrlSet)
    # url -> the name of the WARC file holding the image, once written
    images: MutableMapping[str, str] = field(default_factory=SpillMap)
    # url -> its PendingRecord, until written
    unwritten: dict[str, object] = field(default_factory=dict, repr=False)

    def add_image(self, url: str, pending) -> None:
        """An image's record sent to the writer (a PendingRecord). Once written only the
        file's name is kept: the record, its future and its result would otherwise stay in
        memory until the crawl's end, one per image."""
        self.images.pop(url, None)
        self.unwritten[url] = pending

        def written(_future) -> None:
            if self.unwritten.get(url) is pending:
                del self.unwritten[url]
                filename = written_file(pending)
                if filename is not None:  # not written: not archived
                    self.images[url] = filename

        pending.written.add_done_callback(written)

    def image_files(self) -> dict[str, str]:
        """url -> WARC file name of each image written so far."""
        files = dict(self.images.items())
        for url, pending in self.unwritten.items():
            filename = written_file(pending)
            if filename is not None:
                files[url] = filename
        return files

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
        images = {url for url, filename in self.image_files().items() if stored(filename)}
        return len(self.versions) - committed, images

    def portable(self) -> ArchivedThisRun:
        """This run's record without what only this process holds (futures): for the
        finishing worker of a distributed crawl."""
        return ArchivedThisRun(
            self.crawl_id,
            self.needs_warc,
            self.needs_items,
            dict(self.versions.items()),
            dict(self.recaptured.items()),
            self.exported.copy(),
            self.image_files(),
        )

    def merge(self, other: ArchivedThisRun) -> None:
        self.versions.update(other.versions.items())
        self.recaptured.update(other.recaptured.items())
        self.exported |= other.exported
        for url, filename in other.image_files().items():
            self.unwritten.pop(url, None)
            self.images[url] = filename


def written_file(pending) -> str | None:
    """The WARC file name a PendingRecord was written to, None if it was not (yet)."""
    if isinstance(pending, str):
        return pending
    written = pending.written
    if written.done() and not written.cancelled() and written.exception() is None:
        return written.result()[0].filename
    return None
