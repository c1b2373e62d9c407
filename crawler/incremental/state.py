"""What earlier crawls archived, kept in the archive store under `state/`.

`state/articles.jsonl.gz` holds one line per article the archive holds: its current version,
content digest, dates and where its last capture is (crawl, WARC record, payload digest and
date, for revisit records). `state/crawls.json` lists the crawls that updated it, newest last,
and what they left undone (crawler/incremental/frontier.py): listing walks to resume, pages
to fetch again, pages given up.
Both are rewritten whole at the end of a crawl, once the crawl's files are stored (a few
hundred bytes per article); a fresh container reads them back before it fetches anything.
"""

from __future__ import annotations

import gzip
import json
import logging
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime

from crawler.incremental.frontier import ARTICLE, Frontier, PendingPage
from crawler.layout import STATE_ARTICLES_KEY, STATE_CRAWLS_KEY
from crawler.storage import ArchiveStore, StorageNotFound

logger = logging.getLogger(__name__)

FORMAT = 2
# Format 1 kept the URLs that gave no item as "unusable", for ever; they are pending again,
# with one try counted.
UNUSABLE_TRIES = 1


@dataclass(frozen=True)
class ArticleCapture:
    """One archived response: enough to point at it and to write a revisit of it."""

    crawl_id: str
    filename: str
    offset: int
    length: int
    record_id: str
    warc_date: str  # WARC-Date of the response record (ISO 8601, UTC)
    payload_digest: str | None  # its WARC-Payload-Digest


@dataclass(frozen=True)
class KnownArticle:
    url: str
    version: int
    content_sha256: str
    published_at: str | None
    modified_at: str | None
    crawled_at: str | None
    capture: ArticleCapture | None
    images: tuple[str, ...] = ()  # its image URLs (archived with it)

    def changed_by(self, content_sha256: str, modified_at: str | None) -> bool:
        """Whether a page with this content and modified date is a new version."""
        return content_sha256 != self.content_sha256 or (modified_at or None) != (
            self.modified_at or None
        )

    def last_change(self) -> datetime | None:
        """When the portal last changed this article, as far as its item said."""
        stamp = self.modified_at or self.published_at
        return datetime.fromisoformat(stamp) if stamp else None


@dataclass
class CrawlState:
    articles: dict[str, KnownArticle] = field(default_factory=dict)
    crawls: list[dict] = field(default_factory=list)
    frontier: Frontier = field(default_factory=Frontier)
    _images: set[str] | None = field(default=None, repr=False)

    @property
    def empty(self) -> bool:
        return not self.articles

    @property
    def last_crawl(self) -> dict | None:
        return self.crawls[-1] if self.crawls else None

    def known(self, url: str) -> KnownArticle | None:
        return self.articles.get(url)

    def seen(self, url: str) -> bool:
        """Archived as an article, or pending, given up or refused: a listing walk need not
        go on for it."""
        return url in self.articles or self.frontier.holds(url)

    def covered_since(self) -> dict | None:
        """The last crawl after whose start every change of the portal was looked at: an
        incremental crawl that read the portal's whole list of changes, or a full crawl
        that walked every listing to its end. (Crawls of format 1 did not say.)"""
        for crawl in reversed(self.crawls):
            if crawl.get("changes_covered", True):
                return crawl
        return None

    def image_known(self, url: str) -> bool:
        """An image of an archived article, and not one that was never archived (still
        pending, or given up)."""
        if self._images is None:
            self._images = {image for a in self.articles.values() for image in a.images}
        frontier = self.frontier
        return url in self._images and url not in frontier.pending and url not in frontier.given_up

    def record(self, article: KnownArticle) -> None:
        self.articles[article.url] = article

    def with_capture(self, url: str, capture: ArticleCapture) -> None:
        """Point a known article at a newer capture of the same payload."""
        known = self.articles.get(url)
        if known is not None:
            self.articles[url] = replace(known, capture=capture)

    # -- storage ---------------------------------------------------------------

    @classmethod
    def load(cls, store: ArchiveStore) -> CrawlState:
        """The stored state, or an empty one when the archive holds none yet."""
        try:
            crawls = json.loads(store.get_bytes(STATE_CRAWLS_KEY))
        except StorageNotFound:
            return cls()
        articles: dict[str, KnownArticle] = {}
        try:
            lines = (
                gzip.decompress(store.get_bytes(STATE_ARTICLES_KEY)).decode("utf-8").splitlines()
            )
        except StorageNotFound:
            lines = []
        for line in lines:
            if not line.strip():
                continue
            data = json.loads(line)
            capture = data.pop("capture", None)
            data["images"] = tuple(data.get("images", ()))
            article = KnownArticle(**data, capture=ArticleCapture(**capture) if capture else None)
            articles[article.url] = article
        logger.info(
            "incremental state: %d articles known from %d earlier crawls (last %s)",
            len(articles),
            len(crawls["crawls"]),
            crawls["crawls"][-1]["crawl_id"] if crawls["crawls"] else "none",
        )
        frontier = Frontier.from_json(crawls.get("frontier"))
        for url in crawls.get("unusable", ()):  # format 1
            if url not in articles:
                frontier.pending[url] = PendingPage(url, ARTICLE, tries=UNUSABLE_TRIES)
        return cls(articles, list(crawls["crawls"]), frontier)

    def save(self, store: ArchiveStore, crawl: dict) -> None:
        """Store the state with `crawl` (id, start, end, counts) added to its crawls.

        The articles first, the crawl list last: a reader that finds the new crawl listed
        finds its articles too.
        """
        lines = (
            json.dumps(asdict(article), ensure_ascii=False, sort_keys=True)
            for article in sorted(self.articles.values(), key=lambda a: a.url)
        )
        body = gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), mtime=0)
        store.put_bytes(body, STATE_ARTICLES_KEY)
        self.crawls.append(crawl)
        document = {"format": FORMAT, "crawls": self.crawls, "frontier": self.frontier.to_json()}
        store.put_bytes(json.dumps(document, indent=1).encode("utf-8"), STATE_CRAWLS_KEY)
