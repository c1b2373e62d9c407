"""Bounds on what one crawl takes: decompression bombs, links per page, depth along "Tin khác"
chains, pages and time per crawl, listing traps.

Each is done for real against the fixture portal made hostile (tests/faults.py), or, for the
indexer, under a file-size limit set by the kernel (RLIMIT_FSIZE) in a process of its own.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crawler.archive.lookup import archive_captures, read_capture
from fixture_portal import FixturePortal, build_site
from tests import faults
from tests.crawl import CrawlResult, assert_no_warning_raised, crawl_command, python_warnings
from tests.test_archive_indexes import (
    START,
    Page,
    portal_pages,
    read_lines,
    run_show,
    write_crawl,
)

REPO = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024

# Indexes `warc` into `out` with every file write capped at `limit` bytes by the kernel
# (a write past it fails with EFBIG): with cdxj-indexer's own indexer ("library") or ours.
_INDEX_UNDER_LIMIT = textwrap.dedent(
    """
    import resource, signal, sys
    from pathlib import Path
    warc, out, limit, which = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG, not a kill, past the limit
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    if which == "library":
        from cdxj_indexer import CDXJIndexer
        from crawler.archive.cdxj import INDEXED_RECORDS
        CDXJIndexer(str(out), [str(warc)], sort=True, post_append=True,
                    records=",".join(INDEXED_RECORDS), filename=warc.name).process_all()
    elif which == "whole":
        from crawler.archive.cdxj import index_warc
        index_warc(warc, out)
    else:
        from crawler.archive.cdxj import IncrementalIndex
        index = IncrementalIndex(warc, warc.name)
        index.add(warc.stat().st_size)
        index.finish(out)
    """
)


def _index_under_limit(warc: Path, out: Path, limit: int, which: str, tmp: Path):
    return subprocess.run(
        [sys.executable, "-c", _INDEX_UNDER_LIMIT, str(warc), str(out), str(limit), which],
        cwd=REPO,
        env={
            "PYTHONPATH": str(REPO),
            "PYTHONWARNINGS": python_warnings(),
            "TMPDIR": str(tmp),
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_indexing_a_gzip_bomb_inflates_nothing_to_disk(tmp_path: Path) -> None:
    inflated = 48 * MiB
    bomb = Page(
        "https://thanhphohaiphong.gov.vn/bom.html",
        200,
        "OK",
        "text/html; charset=UTF-8",
        gzip.compress(bytes(inflated), compresslevel=9, mtime=0),
        "gzip",
    )
    crawl = write_crawl(tmp_path / "archive", "bomb", START, [*portal_pages(), bomb])
    (warc,) = crawl.warcs
    temp = tmp_path / "tmp"
    temp.mkdir()
    limit = 4 * MiB  # far below what the bomb inflates to; far above the WARC and its index
    assert warc.stat().st_size < limit

    # cdxj-indexer alone copies the inflated body to a temporary file: past the limit.
    library = _index_under_limit(warc, tmp_path / "library.cdxj", limit, "library", temp)
    assert library.returncode != 0 and "File too large" in library.stderr, library.stderr[-2000:]
    # The same index, with no limit, to compare with.
    reference = tmp_path / "reference.cdxj"
    library = _index_under_limit(warc, reference, 2**40, "library", temp)
    assert library.returncode == 0, library.stderr[-2000:]
    assert_no_warning_raised(library.stderr)

    for which in ("whole", "incremental"):
        out = tmp_path / f"{which}.cdxj"
        ours = _index_under_limit(warc, out, limit, which, temp)
        assert ours.returncode == 0, ours.stderr[-2000:]
        assert_no_warning_raised(ours.stderr)
        # Byte for byte what cdxj-indexer writes, the POST key and the bomb's line included.
        assert out.read_bytes() == reference.read_bytes()
    lines = read_lines(reference)
    assert {entry["url"] for _key, _ts, entry in lines} >= {bomb.url}
    assert any("__wb_method=post" in key for key, _ts, _entry in lines)


# -- whole crawls against the fixture portal made hostile --------------------------------

# Sets a file-size limit, then runs the command given after it: the limit binds the crawl
# and every process it starts (the WARC writer).
_WITH_FSIZE_LIMIT = (
    "import os, resource, sys; limit = int(sys.argv[1]); "
    "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)); "
    "os.execv(sys.argv[2], sys.argv[2:])"
)


def crawl(portal, workdir: Path, settings: dict, *, fsize_limit: int | None = None):
    """``scrapy crawl portal`` of `portal`, its temporary files in ``workdir/tmp``; with
    `fsize_limit`, no process of the crawl can write a file past that many bytes."""
    command, env = crawl_command(
        portal.base_url, workdir, settings={"BROWSER_ENABLED": False, **settings}
    )
    (workdir / "tmp").mkdir()
    env = {**env, "TMPDIR": str(workdir / "tmp")}
    if fsize_limit is not None:
        command = [sys.executable, "-c", _WITH_FSIZE_LIMIT, str(fsize_limit), *command]
    completed = subprocess.run(command, cwd=workdir, env=env, timeout=900, check=False)
    log_file = workdir / "test-crawl.log"
    log = log_file.read_text(encoding="utf-8") if log_file.exists() else ""
    return CrawlResult(completed.returncode, workdir / "archive", "test-crawl", log)


def hostile_portal(entries: list[str]) -> FixturePortal:
    """The fixture portal with a bare home page and one section listing `entries`
    (``PORTAL_SECTIONS``: ``<base>bounds/``): a crawl sees only what a test serves."""
    portal = FixturePortal(build_site(seed=1))
    portal.inject("/", faults.answer(200, faults.listing_html([])))
    portal.inject("/bounds/", faults.answer(200, faults.listing_html(entries)))
    return portal


def fetched(portal, prefix: str) -> list[str]:
    return [path for _method, path, _headers in portal.request_log if path.startswith(prefix)]


def assert_stored(result, returncode: int = 0) -> None:
    """Exit `returncode`, every item stored and pointing at a stored WARC, no error logged."""
    assert result.returncode == returncode, result.log[-3000:]
    assert "ERROR" not in result.log, result.log[-3000:]
    stored = {entry["key"] for entry in result.manifest["files"]}
    items = result.items
    assert len(items) == result.stats["items/accepted"]
    assert {f"warcs/test-crawl/{item['warc']['filename']}" for item in items} <= stored


def test_a_gzip_bomb_is_dropped_counted_and_archived_as_received(tmp_path: Path) -> None:
    cap = 16 * MiB
    bomb = faults.gzip_bomb(256 * MiB)  # about 256 KB on the wire
    with hostile_portal(["/bom.html", "/lon.html", "/bai.html"]) as portal:
        portal.inject("/bom.html", bomb)
        portal.inject("/lon.html", faults.answer(200, bytes(cap + 1)))  # too large as sent
        portal.inject("/bai.html", faults.answer(200, faults.article_html("Bài thường")))
        settings = {"PORTAL_SECTIONS": portal.base_url + "bounds/", "DOWNLOAD_MAXSIZE": cap}
        # No process of the crawl may write a file past the cap: not the WARC writer's index.
        result = crawl(portal, tmp_path, settings, fsize_limit=cap)
        bomb_url = portal.base_url + "bom.html"
    assert_stored(result)
    assert [item["url"] for item in result.items] == [portal.base_url + "bai.html"]
    stats = result.stats
    assert stats["pages/dropped/decompressed_too_large"] == 1
    assert stats["pages/dropped/too_large"] == 1
    assert not any(key.startswith("pages/failed/") for key in stats)
    report = result.manifest["report"]
    assert report["pages"]["dropped"] == {"decompressed_too_large": 1, "too_large": 1}
    assert "2 pages dropped or limits reached, 0 logged errors" in report["summary"]
    assert "bom.html" in result.log and "DOWNLOAD_MAXSIZE" in result.log
    # The bomb is in the WARC as it came off the wire, still compressed, and indexed.
    (capture,) = archive_captures(result.archive, bomb_url, "test-crawl")
    warc = result.archive / "warcs" / "test-crawl" / capture.filename
    archived = read_capture(warc, capture)
    assert ("Content-Encoding", "gzip") in archived.headers
    assert archived.body == faults.gzip_bomb_body(256 * MiB)
    assert not list((tmp_path / "tmp").iterdir())
    # Shown decoded, it is refused past the cap rather than inflated into memory.
    with pytest.raises(ValueError, match=f"decodes to more than {cap} bytes"):
        read_capture(warc, capture, decoded=True, max_decoded=cap)
    shown = run_show(
        tmp_path, result.archive, bomb_url, "--decoded", "-s", f"DOWNLOAD_MAXSIZE={cap}"
    )
    assert shown.returncode == 1
    assert b"(DOWNLOAD_MAXSIZE); without --decoded it is shown as stored" in shown.stderr
    assert run_show(tmp_path, result.archive, bomb_url).returncode == 0


def test_a_chain_of_articles_is_cut_at_the_depth_limit(tmp_path: Path) -> None:
    with hostile_portal(["/chain-0.html"]) as portal:
        portal.inject(faults.matching("/chain-"), faults.article_chain())
        settings = {"PORTAL_SECTIONS": portal.base_url + "bounds/", "PORTAL_MAX_RELATED_DEPTH": 5}
        result = crawl(portal, tmp_path, settings)
        chain = fetched(portal, "/chain-")
    assert_stored(result)
    # chain-0 is listed (depth 0); chain-5 is 5 "Tin khác" hops away; its link is left.
    assert chain == [f"/chain-{n}.html" for n in range(6)]
    assert len(result.items) == 6
    assert result.stats["limits/related_depth"] == 1
    assert result.manifest["report"]["limits"] == {"related_depth": 1}
    assert "chain-6.html" in result.log and "PORTAL_MAX_RELATED_DEPTH" in result.log


def test_a_page_with_many_links_gives_only_the_limit(tmp_path: Path) -> None:
    with hostile_portal(["/many.html"]) as portal:
        portal.inject("/many.html", faults.many_related(20_000))
        portal.inject(faults.matching("/linked-"), faults.answer(200, faults.article_html("Bài")))
        settings = {"PORTAL_SECTIONS": portal.base_url + "bounds/", "PORTAL_MAX_LINKS_PER_PAGE": 50}
        result = crawl(portal, tmp_path, settings)
        linked = fetched(portal, "/linked-")
    assert_stored(result)
    assert sorted(linked) == sorted(f"/linked-{n}.html" for n in range(50))  # the first 50
    assert result.stats["limits/links_per_page"] == 20_000 - 50
    # Only what is taken is ever queued: not 20,000 requests held in memory.
    assert result.stats["scheduler/enqueued"] < 100
    # Logged once for the page, not once per link.
    assert result.log.count("article links not followed") == 1


def test_the_pages_limit_ends_the_crawl_cleanly(tmp_path: Path) -> None:
    with hostile_portal(["/chain-0.html"]) as portal:
        portal.inject(faults.matching("/chain-"), faults.article_chain())
        settings = {
            "PORTAL_SECTIONS": portal.base_url + "bounds/",
            "PORTAL_MAX_RELATED_DEPTH": 10**6,
            "CLOSESPIDER_PAGECOUNT": 40,
        }
        result = crawl(portal, tmp_path, settings)
    assert_stored(result)
    assert result.stats["finish_reason"] == "closespider_pagecount"
    assert 40 <= result.stats["response_received_count"] < 60
    assert result.stats["limits/crawl_pages"] == 1
    report = result.manifest["report"]
    assert report["summary"].startswith("closespider_pagecount:")
    assert report["limits"] == {"crawl_pages": 1}
    assert "CLOSESPIDER_PAGECOUNT=40" in result.log


def test_the_time_limit_ends_an_endless_crawl_cleanly(tmp_path: Path) -> None:
    with hostile_portal(["/chain-0.html"]) as portal:
        portal.inject(faults.matching("/chain-"), faults.article_chain())
        settings = {
            "PORTAL_SECTIONS": portal.base_url + "bounds/",
            "PORTAL_MAX_RELATED_DEPTH": 10**6,
            "CLOSESPIDER_TIMEOUT": 3,
        }
        # An endless chain with no depth limit: only the time limit ends this crawl.
        result = crawl(portal, tmp_path, settings)
    # Exit 0 as for a crawl run to its end (7 if, on a loaded machine, no article came in
    # those 3 seconds: a full crawl without one).
    assert_stored(result, 0 if result.stats.get("items/accepted") else 7)
    assert result.stats["finish_reason"] == "closespider_timeout"
    assert result.stats["limits/crawl_time"] == 1
    assert result.manifest["report"]["limits"] == {"crawl_time": 1}
    assert "CLOSESPIDER_TIMEOUT=3" in result.log


def test_a_listing_trap_is_stopped_after_pages_with_nothing_new(tmp_path: Path) -> None:
    pool = [f"/pool-{n}.html" for n in range(30)]
    with FixturePortal(build_site(seed=1)) as portal:
        portal.inject("/", faults.answer(200, faults.listing_html([])))
        portal.inject(faults.matching("/bounds/"), faults.listing_trap("/bounds/", pool))
        portal.inject(faults.matching("/pool-"), faults.answer(200, faults.article_html("Bài")))
        settings = {
            "PORTAL_SECTIONS": portal.base_url + "bounds/",
            "PORTAL_MAX_STALE_LISTING_PAGES": 3,
        }
        result = crawl(portal, tmp_path, settings)
        listing = fetched(portal, "/bounds/")
    assert_stored(result)
    # Three pages list the whole pool; three more list nothing new: the walk stops there,
    # not at PORTAL_MAX_LISTING_PAGES (2,000 pages, hours at the polite rate).
    assert len(listing) == 6
    assert len(result.items) == 30
    assert result.stats["limits/stale_listing"] == 1
    assert result.manifest["report"]["limits"] == {"stale_listing": 1}
