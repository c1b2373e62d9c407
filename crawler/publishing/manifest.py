"""What a crawl's manifest (``crawls/<crawl_id>/manifest.json``) says.

The crawl writes it last: its id, portal, times, finish reason, the settings that shape a
crawl (never credentials), a report read at a glance, the final stats, and every file stored
with its key, size and sha256 (from the spool's ledger). Its presence means the crawl's files
are all stored. A crawl that died before writing one gets a note that it was recovered; a
manifest already stored is never replaced by such a note: files stored later are added to it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime

import crawler as crawler_package
from crawler.layout import is_worker_part
from crawler.publishing.report import crawl_report
from crawler.storage.base import StoredObject

RECOVERED = "unfinished: recovered from the spool"
# Recorded in the manifest: what shapes a crawl. Never credentials.
MANIFEST_SETTINGS = {
    "PORTAL_URL": "get",
    "PORTAL_EXTRA_HOSTS": "getlist",
    "PORTAL_SECTIONS": "getlist",
    "PORTAL_MAX_LISTING_PAGES": "getint",
    "PORTAL_FOLLOW_RELATED": "getbool",
    "PORTAL_FETCH_IMAGES": "getbool",
    "PORTAL_SEED_SITEMAP": "getbool",
    "PORTAL_SEED_FEEDS": "getbool",
    "PORTAL_MAX_LINKS_PER_PAGE": "getint",
    "PORTAL_MAX_RELATED_DEPTH": "getint",
    "PORTAL_MAX_STALE_LISTING_PAGES": "getint",
    "CLOSESPIDER_PAGECOUNT": "getint",
    "CLOSESPIDER_TIMEOUT": "getfloat",
    "DOWNLOAD_MAXSIZE": "getint",
    "INCREMENTAL_MAX_TRIES": "getint",
    "USER_AGENT": "get",
    "ROBOTSTXT_OBEY": "getbool",
    "AUTOTHROTTLE_ENABLED": "getbool",
    "DOWNLOAD_DELAY": "getfloat",
    "CONCURRENT_REQUESTS": "getint",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "getint",
    "DOWNLOAD_TIMEOUT": "getfloat",
    "RETRY_TIMES": "getint",
    "WARC_ENABLED": "getbool",
    "WARC_MAX_SIZE": "getint",
    "WARC_PREFIX": "get",
    "ITEMS_FEED_ENABLED": "getbool",
    "AWS_ENDPOINT_URL": "get",
    "AWS_REGION_NAME": "get",
}


def crawl_manifest(
    crawl_id: str,
    settings,
    stats: dict,
    archive_uri: str,
    started_at: datetime,
    finish_reason: str | None,
) -> dict:
    """The manifest of a crawl that ran (its file list is added when it is stored)."""
    return {
        "crawl_id": crawl_id,
        "portal": settings.get("PORTAL_URL"),
        "archive": archive_uri,
        "software": f"haiphong-archiver/{crawler_package.__version__}",
        "started_at": started_at.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "finish_reason": finish_reason,
        "settings": {
            name: getattr(settings, getter)(name) for name, getter in MANIFEST_SETTINGS.items()
        },
        "report": crawl_report(stats, finish_reason),
        "stats": {key: _json_safe(value) for key, value in sorted(stats.items())},
    }


def recovered_manifest(crawl_id: str) -> dict:
    """For a crawl that died before it could write one: what is known is what it stored."""
    return {
        "crawl_id": crawl_id,
        "portal": None,
        "started_at": None,
        "finished_at": None,
        "finish_reason": RECOVERED,
        "stored_later_at": datetime.now(UTC).isoformat(),
        "settings": None,
        "stats": None,
    }


def stored_later(manifest: dict) -> dict:
    """A manifest written before, now stored with files stored after it."""
    return {**manifest, "stored_later_at": datetime.now(UTC).isoformat()}


def with_files(manifest: dict, stored: Iterable[StoredObject]) -> dict:
    """``manifest`` listing every file it listed and every file of ``stored`` (which wins)."""
    # A distributed crawl's worker parts: merged by the finishing worker, then deleted.
    files = {
        entry["key"]: entry
        for entry in manifest.get("files") or ()
        if not is_worker_part(entry["key"])
    }
    for entry in stored:
        if is_worker_part(entry.key):
            continue
        files[entry.key] = {"key": entry.key, "size": entry.size, "sha256": entry.sha256}
    return {**manifest, "files": [files[key] for key in sorted(files)]}


def manifest_bytes(manifest: dict) -> bytes:
    text = json.dumps(manifest, ensure_ascii=False, indent=2, default=str)
    return (text + "\n").encode("utf-8")


def _json_safe(value):
    if isinstance(value, datetime):
        return value.isoformat()
    return value
