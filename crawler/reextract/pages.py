"""One archived page to an item, by the crawl's own code path, in a worker process.

What the spider does with an article response (``PortalSpider.parse_article``): the page as
text (``decode_html``), ``extract_article``, ``ArticleItem.from_raw``, then the item pipelines
that read the page (cleaning, dates, validation, stamping), in the add-on's order. The
pipelines that belong to a crawl run are left out: versions and WARC pointers are the original
item's (the same capture), the WACZ pages list is the crawl's. What a run decides is taken from
the original item: ``fetched_url``, ``crawled_at``, ``warc``, ``version``, ``replaces``.
Nothing else is borrowed: a field the page does not carry is null, as in a crawl (the section
included, whatever the old item said).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from dataclasses import asdict, dataclass, field

from scrapy.exceptions import DropItem
from scrapy.http import TextResponse
from scrapy.settings import Settings
from scrapy.utils.misc import load_object

from crawler.addon import PIPELINES
from crawler.config import PortalConfig
from crawler.extract import EXTRACTOR_VERSION, ExtractionError, extract_article
from crawler.http_text import decode_html
from crawler.items import ArticleItem
from crawler.reextract.records import ArchivedPage, DomIndex, RecordError, read_page
from crawler.storage import ArchiveStore, StorageConfig, StorageError, open_store

logger = logging.getLogger(__name__)

# Pipelines of a crawl run, not of a page (see the module's docstring). De-duplication needs
# every item of the crawl: the parent process runs it, in the items' order.
RUN_PIPELINES = frozenset(
    {
        "crawler.incremental.pipeline.VersionPipeline",
        "crawler.pipelines.warc_pointers.WarcPointerPipeline",
        "crawler.pipelines.wacz_pages.WaczPagesPipeline",
        "crawler.pipelines.validate.DeduplicationPipeline",
    }
)
DEDUPLICATION = "crawler.pipelines.validate.DeduplicationPipeline"
# Fields a run sets, copied from the original item.
RUN_FIELDS = ("fetched_url", "crawled_at", "warc", "version", "replaces")
VERSION_FIELD = "extractor_version"
# A batch's CPU time in its worker (microseconds), handed back with its stats.
WORKER_CPU = "reextract/cpu_microseconds"


class CountingStats:
    """The stats a pipeline counts into (Scrapy's StatsCollector interface it uses)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None:
        self.counts[key] += count

    def get_value(self, key: str, default=None):
        return self.counts.get(key, default)

    def set_value(self, key: str, value) -> None:
        self.counts[key] = value


@dataclass(frozen=True)
class PipelineHost:
    """What ``from_crawler`` of a page pipeline reads: the settings and the stats."""

    settings: Settings
    stats: CountingStats


@dataclass
class Outcome:
    """One item re-extracted: the new item (None: no item now, ``reason`` says why)."""

    item: dict | None
    reason: str | None = None
    rendered: bool = False


@dataclass
class Article:
    """What goes back to the parent for one article: the new item's JSON line (None: no item
    now, ``reason`` says why) and its URL, and the fields that changed."""

    url: str | None  # the original item's
    new_url: str | None
    line: str | None
    changed: list[str]
    reason: str | None
    rendered: bool


@dataclass
class BatchResult:
    articles: list[Article]
    stats: Counter = field(default_factory=Counter)
    pid: int = field(default_factory=os.getpid)  # the process that made it


def changed_fields(original: dict, new: dict) -> list[str]:
    """The fields whose values differ (the extractor's version stamp aside)."""
    names = (set(original) | set(new)) - {VERSION_FIELD}
    return sorted(name for name in names if original.get(name) != new.get(name))


def page_pipelines(host: PipelineHost) -> list:
    """The add-on's item pipelines that read the page, built as a crawl builds them."""
    names = sorted(PIPELINES, key=PIPELINES.__getitem__)
    return [load_object(name).from_crawler(host) for name in names if name not in RUN_PIPELINES]


class PageExtractor:
    """Re-extracts the items of one crawl (in each worker process)."""

    def __init__(self, settings: Settings, store: ArchiveStore, crawl_id: str, doms: DomIndex):
        self.settings = settings
        self.store = store
        self.crawl_id = crawl_id
        self.doms = doms
        self.config = PortalConfig.from_settings(settings)
        self.stats = CountingStats()
        self.pipelines = page_pipelines(PipelineHost(settings, self.stats))

    def batch(self, lines: list[bytes]) -> BatchResult:
        """The items file's ``lines`` (JSON) re-extracted and compared, in their order: the
        parent only writes and counts (it is the one process that cannot be parallel)."""
        articles = []
        for line in lines:
            original = json.loads(line)
            outcome = self.one(original)
            if outcome.item is None:
                articles.append(
                    Article(original.get("url"), None, None, [], outcome.reason, outcome.rendered)
                )
                continue
            text = json.dumps(outcome.item, ensure_ascii=False)
            changed = changed_fields(original, json.loads(text))
            articles.append(
                Article(
                    original.get("url"), outcome.item["url"], text, changed, None, outcome.rendered
                )
            )
        counts, self.stats.counts = self.stats.counts, Counter()
        return BatchResult(articles, counts)

    def one(self, original: dict) -> Outcome:
        pointer = original.get("warc")
        if not isinstance(pointer, dict):
            return self._failed("no_warc_pointer")
        try:
            page = read_page(self.store, self.crawl_id, pointer, self.doms)
        except (RecordError, StorageError, KeyError, ValueError) as exc:
            logger.warning("%s: cannot read its record: %s", original.get("url"), exc)
            return self._failed("unreadable_record")
        try:
            return self.item_from_page(original, page)
        except Exception:
            # As Scrapy does with a callback that fails: said, counted, and the crawl goes on.
            logger.error("re-extracting %s failed", page.response.url, exc_info=True)
            return self._failed("error", page.rendered)

    def item_from_page(self, original: dict, page: ArchivedPage) -> Outcome:
        """What the spider and the pipelines make of the page (``original``: the item the
        crawl made of it, for what the run decided)."""
        text = _page_text(page.response)
        if text is None:
            return self._failed("not_html", page.rendered)
        try:
            raw = extract_article(text, page.response.url, self.config.urls, self.config.rules)
        except ExtractionError as exc:
            logger.warning("cannot read article %s: %s", page.response.url, exc)
            return self._failed("unparseable", page.rendered)
        item = ArticleItem.from_raw(raw, fetched_url=original.get("fetched_url"))
        for name in RUN_FIELDS:
            setattr(item, name, original.get(name))
        try:
            for pipeline in self.pipelines:
                item = pipeline.process_item(item)
        except DropItem as exc:
            logger.info("%s gives no item now: %s", page.response.url, exc)
            return self._failed("dropped", page.rendered)
        fields = asdict(item)
        fields[VERSION_FIELD] = EXTRACTOR_VERSION
        return Outcome(fields, rendered=page.rendered)

    def _failed(self, reason: str, rendered: bool = False) -> Outcome:
        self.stats.inc_value(f"reextract/failed/{reason}")
        return Outcome(None, reason, rendered)


def _page_text(response) -> str | None:
    """The page as the spider reads it (``PageAnswers._page_text``), or None: no HTML."""
    if not response.body.strip() or not isinstance(response, TextResponse):
        return None
    content_type = response.headers.get("Content-Type", b"").decode("latin-1").lower()
    if content_type and "html" not in content_type:
        return None
    if not content_type and response.body.lstrip()[:1] != b"<":
        return None
    return decode_html(response)[0]


# -- the worker processes' side ------------------------------------------------------------

# A pool worker's extractor, built once by the pool's initializer (the one way a process
# pool hands state to its workers).
_worker: PageExtractor | None = None


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs to build its ``PageExtractor`` (it pickles)."""

    settings: dict
    store_uri: str
    storage: StorageConfig | None
    crawl_id: str
    doms: DomIndex


def start_worker(spec: WorkerSpec) -> None:
    """The pool's initializer: one extractor (and one store client) per worker process."""
    global _worker
    settings = Settings(spec.settings)
    store = open_store(spec.store_uri, spec.storage)
    _worker = PageExtractor(settings, store, spec.crawl_id, spec.doms)


def run_batch(lines: list[bytes]) -> BatchResult:
    """A batch in a worker; its CPU time goes back with it (the parent's rusage sees its
    children only once they are gone)."""
    if _worker is None:
        raise RuntimeError("start_worker was not run in this process")
    cpu = time.process_time()
    result = _worker.batch(lines)
    result.stats[WORKER_CPU] += round((time.process_time() - cpu) * 1e6)
    return result
