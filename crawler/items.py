"""The article item: one per article (its fields are described in docs/items.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crawler.extract import RawArticle


@dataclass
class ArticleItem:
    """An article as exported.

    The spider fills it with what the page shows (``published_at`` may still be
    the page's "31/03/2023 07:45"); the pipelines clean it, parse the dates,
    validate, de-duplicate and stamp it.
    """

    url: str
    fetched_url: str
    post_id: int | None = None
    section: dict[str, str] | None = None
    title: str | None = None
    sapo: str | None = None
    body: str | None = None
    author: str | None = None
    published_at: str | None = None
    modified_at: str | None = None
    images: list[dict[str, Any]] = field(default_factory=list)
    related: list[dict[str, str]] = field(default_factory=list)
    source: str | None = None
    language: str = "vi"
    content_sha256: str | None = None
    crawl_id: str | None = None
    crawled_at: str | None = None
    # Which version of the article this is (1: first archived), and the capture of the
    # version it replaces ({"version", "crawl_id", "record_id", "filename", "warc_date"}) or
    # null. Set by the incremental state (crawler/incremental/); null when it is off.
    version: int | None = None
    replaces: dict[str, Any] | None = None
    # Where the response record is ({filename, offset, length, record_id}); the spider sets
    # the archive's PendingRecord, which WarcPointerPipeline turns into that dict.
    warc: Any = None

    @classmethod
    def from_raw(cls, raw: RawArticle, fetched_url: str):
        # Every page field comes from the page: the listing that linked it lends nothing
        # (an article reached through "Tin khác" must come out the same).
        return cls(
            url=raw.url,
            fetched_url=fetched_url,
            post_id=raw.post_id,
            section=raw.section,
            title=raw.title,
            sapo=raw.sapo,
            body="\n\n".join(raw.paragraphs),
            author=raw.author,
            published_at=raw.published,
            modified_at=raw.modified,
            images=raw.images,
            related=raw.related,
            source=raw.source,
        )
