"""Bounds on what one crawl takes (issue 11, points 6 and 7): decompression bombs, links per
page, depth along "Tin khác" chains, pages and time per crawl, listing traps.

Each is done for real against the fixture portal made hostile (tests/faults.py), or, for the
indexer, under a file-size limit set by the kernel (RLIMIT_FSIZE) in a process of its own.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.test_archive_indexes import START, Page, portal_pages, read_lines, write_crawl

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
        env={"PYTHONPATH": str(REPO), "TMPDIR": str(tmp), "PATH": "/usr/bin:/bin"},
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

    for which in ("whole", "incremental"):
        out = tmp_path / f"{which}.cdxj"
        ours = _index_under_limit(warc, out, limit, which, temp)
        assert ours.returncode == 0, ours.stderr[-2000:]
        # Byte for byte what cdxj-indexer writes, the POST key and the bomb's line included.
        assert out.read_bytes() == reference.read_bytes()
    lines = read_lines(reference)
    assert {entry["url"] for _key, _ts, entry in lines} >= {bomb.url}
    assert any("__wb_method=post" in key for key, _ts, _entry in lines)
