"""The archive root's layout: where each kind of file lives under ``ARCHIVE_URI``, and the
suffixes that name files. The one place they are spelled; everything else asks here.

    warcs/<crawl_id>/<name>.warc.gz     indexes/<crawl_id>/<name>.cdxj
    items/<crawl_id>.jsonl.gz           crawls/<crawl_id>/manifest.json
    wacz/<crawl_id>.wacz                state/ (articles, crawls, lock)
    items/<crawl_id>.reextract-<extractor version>.jsonl.gz   (and .summary.json)

Keys are relative and ``/``-separated, in a local directory and under an S3 prefix alike.
"""

from __future__ import annotations

from collections.abc import Iterable

WARCS = "warcs"
INDEXES = "indexes"
ITEMS = "items"
CRAWLS = "crawls"
WACZ = "wacz"
STATE = "state"

WARC_SUFFIX = ".warc.gz"
CDXJ_SUFFIX = ".cdxj"
WACZ_SUFFIX = ".wacz"
ITEMS_SUFFIX = ".jsonl.gz"
# A file still being written (a WARC, the items feed): never stored under this name.
OPEN_SUFFIX = ".open"

MANIFEST = "manifest.json"
# The crawl's items feed, in its spool directory.
ITEMS_FILE = "items" + ITEMS_SUFFIX

STATE_ARTICLES_KEY = f"{STATE}/articles.jsonl.gz"
STATE_CRAWLS_KEY = f"{STATE}/crawls.json"
STATE_LOCK_KEY = f"{STATE}/lock.json"


def warc_key(crawl_id: str, filename: str) -> str:
    return f"{WARCS}/{crawl_id}/{filename}"


def index_key(crawl_id: str, filename: str) -> str:
    return f"{INDEXES}/{crawl_id}/{filename}"


def items_key(crawl_id: str) -> str:
    return f"{ITEMS}/{crawl_id}{ITEMS_SUFFIX}"


def manifest_key(crawl_id: str) -> str:
    return f"{CRAWLS}/{crawl_id}/{MANIFEST}"


def wacz_key(crawl_id: str) -> str:
    return f"{WACZ}/{crawl_id}{WACZ_SUFFIX}"


def wacz_name(crawl_id: str) -> str:
    return f"{crawl_id}{WACZ_SUFFIX}"


def cdxj_name(warc_name: str) -> str:
    """``<name>.warc.gz`` (or ``.warc``) → ``<name>.cdxj``: the index file of a WARC file."""
    for suffix in (WARC_SUFFIX, ".warc"):
        if warc_name.endswith(suffix):
            return warc_name[: -len(suffix)] + CDXJ_SUFFIX
    raise ValueError(f"not a WARC file name (.warc.gz or .warc): {warc_name}")


def index_keys_by_crawl(keys: Iterable[str]) -> dict[str, list[str]]:
    """The CDXJ index keys among ``keys`` (a store's listing), by crawl id."""
    found: dict[str, list[str]] = {}
    for key in keys:
        parts = key.split("/")
        if len(parts) == 3 and parts[0] == INDEXES and parts[2].endswith(CDXJ_SUFFIX):
            found.setdefault(parts[1], []).append(key)
    return found


def crawls_with_warcs(keys: Iterable[str]) -> set[str]:
    """The crawl ids that have a WARC file among ``keys`` (a store's listing)."""
    return {
        parts[1]
        for parts in (key.split("/") for key in keys)
        if len(parts) == 3 and parts[0] == WARCS and parts[2].endswith(WARC_SUFFIX)
    }


# ``scrapy reextract``: the items of a crawl made again from its WARCs by extractor version
# ``version``, beside the crawl's own (never over it), and what changed.
REEXTRACT_INFIX = ".reextract-"
SUMMARY_SUFFIX = ".summary.json"


def reextract_items_key(crawl_id: str, version: int | str) -> str:
    return f"{ITEMS}/{crawl_id}{REEXTRACT_INFIX}{version}{ITEMS_SUFFIX}"


def reextract_summary_key(crawl_id: str, version: int | str) -> str:
    return f"{ITEMS}/{crawl_id}{REEXTRACT_INFIX}{version}{SUMMARY_SUFFIX}"


def crawls_with_items(keys: Iterable[str]) -> list[str]:
    """The crawl ids whose own items file (not a re-extraction) is among ``keys``, sorted."""
    found = set()
    for key in keys:
        parts = key.split("/")
        if len(parts) == 2 and parts[0] == ITEMS and parts[1].endswith(ITEMS_SUFFIX):
            crawl_id = parts[1][: -len(ITEMS_SUFFIX)]
            if REEXTRACT_INFIX not in crawl_id:
                found.add(crawl_id)
    return sorted(found)
