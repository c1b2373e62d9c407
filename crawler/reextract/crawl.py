"""Re-extract one crawl: its items file in, a new items file and a summary beside it.

The crawl's items file says which records were articles (each item's ``warc`` pointer): it is
read as a stream, in batches that worker processes turn into new items (``pages.py``), at
most a few batches in flight, written in the original order as they come back. Memory stays
flat whatever the crawl's size: only the batches in flight and the set of URLs seen (for
de-duplication, as the crawl keeps it) are held. The new file goes to
``items/<crawl_id>.reextract-<version>.jsonl.gz`` (crawler/layout.py), never over the crawl's
own, with ``…summary.json``: which fields changed for how many articles.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import multiprocessing
import tempfile
import time
import zlib
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from scrapy.exceptions import DropItem
from scrapy.settings import Settings
from scrapy.utils.misc import load_object

from crawler.extract import EXTRACTOR_VERSION
from crawler.items import ArticleItem
from crawler.layout import items_key, manifest_key, reextract_items_key, reextract_summary_key
from crawler.reextract.pages import (
    DEDUPLICATION,
    WORKER_CPU,
    Article,
    BatchResult,
    CountingStats,
    PageExtractor,
    PipelineHost,
    WorkerSpec,
    run_batch,
    start_worker,
)
from crawler.reextract.records import DomIndex
from crawler.storage import ArchiveStore, StorageConfig

logger = logging.getLogger(__name__)

BATCH = 16  # items per task: enough to hide the hand-over, small enough to stay flat
# Read from the store (compressed), and inflated, at a time: what the stream holds at most.
_CHUNK = 256 * 1024
_TEXT = 1024 * 1024
# Examples of changed articles kept per field in the summary.
_EXAMPLES = 3
# The crawl's settings that say which portal it crawled (its URLs' scope and canonical form).
PORTAL_SETTINGS = ("PORTAL_URL", "PORTAL_EXTRA_HOSTS")


class ReextractError(RuntimeError):
    """A crawl that cannot be re-extracted at all (no items file)."""


@dataclass
class CrawlSummary:
    crawl_id: str
    extractor_version: int
    items: str  # the key of the new items file
    source: str  # the key of the crawl's own
    workers: int
    processes: int = 0  # how many processes made items (the workers that got a batch)
    articles: int = 0  # items in the crawl's own file
    written: int = 0
    unchanged: int = 0
    changed: int = 0
    rendered: int = 0  # made from a browser-rendered DOM record
    changed_fields: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    no_item: Counter = field(default_factory=Counter)  # articles without a new item, by reason
    stats: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process's and the workers'

    def to_json(self) -> dict:
        data = asdict(self)
        data["changed_fields"] = dict(self.changed_fields.most_common())
        data["no_item"] = dict(sorted(self.no_item.items()))
        data["stats"] = dict(sorted(self.stats.items()))
        data["pages_per_second"] = round(self.articles / self.seconds, 1) if self.seconds else None
        data["seconds"] = round(self.seconds, 3)
        data["cpu_seconds"] = round(self.cpu_seconds, 3)
        return data


def reextract_crawl(
    store: ArchiveStore,
    storage: StorageConfig | None,
    settings: Settings,
    crawl_id: str,
    workers: int,
) -> CrawlSummary:
    """Re-extract crawl ``crawl_id`` of ``store`` with ``workers`` processes (1: in this one)
    and store the new items and the summary; return the summary."""
    source = items_key(crawl_id)
    if not store.exists(source):
        raise ReextractError(f"crawl {crawl_id}: no items file {source} in {store.uri}")
    summary = CrawlSummary(
        crawl_id=crawl_id,
        extractor_version=EXTRACTOR_VERSION,
        items=reextract_items_key(crawl_id, EXTRACTOR_VERSION),
        source=source,
        workers=workers,
    )
    started, cpu_started = time.monotonic(), time.process_time()
    worker_cpu = 0.0
    with tempfile.TemporaryDirectory(prefix="reextract-") as tmp:
        values = crawl_settings(store, settings, crawl_id)
        spec = WorkerSpec(
            values, store.uri, storage, crawl_id, DomIndex.read(store, crawl_id, Path(tmp))
        )
        host = PipelineHost(Settings(values), CountingStats())
        dedup = load_object(DEDUPLICATION).from_crawler(host)
        out_path = Path(tmp) / "items.jsonl.gz"
        # No name or time in the gzip header, as the crawl's items: the same items, the
        # same bytes.
        with (
            open(out_path, "wb") as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, filename="", mtime=0) as packed,
            io.TextIOWrapper(packed, encoding="utf-8") as out,
        ):
            pids = set()
            for result in _results(spec, store, batches(raw_lines(store, source)), workers):
                pids.add(result.pid)
                worker_cpu += result.stats.pop(WORKER_CPU, 0) / 1e6
                summary.stats.update(result.stats)
                for article in result.articles:
                    _tally(summary, dedup, out, article)
        summary.stats.update(host.stats.counts)
        summary.processes = len(pids)
        store.put_file(out_path, summary.items)
    summary.seconds = time.monotonic() - started
    summary.cpu_seconds = time.process_time() - cpu_started + worker_cpu
    store.put_bytes(summary_bytes(summary), reextract_summary_key(crawl_id, EXTRACTOR_VERSION))
    return summary


def summary_bytes(summary: CrawlSummary) -> bytes:
    return (json.dumps(summary.to_json(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def crawl_settings(store: ArchiveStore, settings: Settings, crawl_id: str) -> dict:
    """Today's settings, with the portal the crawl crawled (from its manifest) and its id."""
    values = settings.copy_to_dict()
    values["CRAWL_ID"] = crawl_id
    key = manifest_key(crawl_id)
    crawled = json.loads(store.get_bytes(key)).get("settings") if store.exists(key) else None
    if crawled:
        for name in PORTAL_SETTINGS:
            if crawled.get(name) is not None:
                values[name] = crawled[name]
    else:
        logger.warning("crawl %s has no manifest naming its portal: PORTAL_URL used", crawl_id)
    return values


def _tally(summary: CrawlSummary, dedup, out, article: Article) -> None:
    summary.articles += 1
    summary.rendered += article.rendered
    if article.line is not None:
        try:
            dedup.process_item(ArticleItem(url=article.new_url, fetched_url=article.url))
        except DropItem:
            article.reason = "duplicate"
    if article.reason is not None:
        summary.no_item[article.reason] += 1
        summary.changed_fields["(no item)"] += 1
        return
    out.write(article.line + "\n")
    summary.written += 1
    if not article.changed:
        summary.unchanged += 1
        return
    summary.changed += 1
    for name in article.changed:
        summary.changed_fields[name] += 1
        examples = summary.examples.setdefault(name, [])
        if len(examples) < _EXAMPLES:
            examples.append(article.url)


def _results(
    spec: WorkerSpec, store: ArchiveStore, batches_in: Iterable[list[bytes]], workers: int
) -> Iterator[BatchResult]:
    """Each batch's result, in order; ``workers`` processes, a few batches ahead."""
    if workers <= 1:
        extractor = PageExtractor(Settings(spec.settings), store, spec.crawl_id, spec.doms)
        for lines in batches_in:
            yield extractor.batch(lines)
        return
    # Forked: the workers start with this process's modules imported (a fork server or a
    # spawned worker imports Scrapy and lxml again, a second of CPU before the first page).
    # Nothing here runs a thread yet, and each worker opens its own store client.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=start_worker, initargs=(spec,)
    ) as pool:
        pending: deque = deque()
        for lines in batches_in:
            pending.append(pool.submit(run_batch, lines))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def batches(lines: Iterable[bytes], size: int = BATCH) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def raw_lines(store: ArchiveStore, key: str) -> Iterator[bytes]:
    """The lines of a stored ``.jsonl.gz`` file (one gzip stream, as the crawl writes it),
    read and inflated a bounded piece at a time, never whole; blank lines left out."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    tail = pending = b""
    offset = 0
    while not inflater.eof:
        if not pending:
            pending = store.get_range(key, offset, _CHUNK)
            if not pending:
                raise ReextractError(f"{key}: cut off ({offset} bytes, the gzip stream unfinished)")
            offset += len(pending)
        text = inflater.decompress(pending, _TEXT)
        pending = inflater.unconsumed_tail
        *lines, tail = (tail + text).split(b"\n")
        yield from (line for line in lines if line.strip())
    if tail.strip():
        yield tail


def item_lines(store: ArchiveStore, key: str) -> Iterator[dict]:
    """The items of a stored ``.jsonl.gz`` file, one at a time."""
    return (json.loads(line) for line in raw_lines(store, key))
