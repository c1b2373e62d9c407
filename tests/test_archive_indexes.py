"""CDXJ indexes of real WARC files, URL look-up, and the `scrapy show` command."""

from __future__ import annotations

import gzip
import html
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.archive import cdxj as cdxj_module
from crawler.archive.cdxj import IncrementalIndex, cdxj_name, index_warc
from crawler.archive.files import RecordLocation, RotatingWarcWriter
from crawler.archive.lookup import (
    archive_captures,
    capture_warc_path,
    find_captures,
    read_capture,
    url_key,
)
from crawler.archive.records import (
    CrawlInfo,
    ExchangeData,
    build_exchange_records,
    build_metadata_record,
)
from tests.crawl import assert_no_warning_raised, scrapy_env

PORTAL = "https://thanhphohaiphong.gov.vn"
ARTICLE_URL = f"{PORTAL}/tin-tuc/hai-phong-don-tet.html?ref=home&page=2"
MISSING_URL = f"{PORTAL}/khong-co-trang-nay"
IMAGE_URL = f"{PORTAL}/wp-content/uploads/anh.png"
SEARCH_URL = f"{PORTAL}/tim-kiem"
ARTICLE_HTML = "<html><head><title>Hải Phòng đón Tết</title></head><body>Tin</body></html>"
# Stands for bytes that are not text; the image's body must come back byte for byte.
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
CDXJ_LINE = re.compile(r"^(\S+) (\d{14}) (\{.*\})$")


def gzipped(text: str) -> bytes:
    return gzip.compress(text.encode(), mtime=0)


@dataclass
class Page:
    url: str
    status: int
    reason: str
    content_type: str
    body: bytes
    content_encoding: str | None = None
    method: str = "GET"
    request_body: bytes = b""
    extra_headers: list[tuple[str, str]] = field(default_factory=list)


def portal_pages(article_html: str = ARTICLE_HTML) -> list[Page]:
    """A gzipped article, a 404, a redirect, an image and a POST search."""
    return [
        Page(ARTICLE_URL, 200, "OK", "text/html; charset=UTF-8", gzipped(article_html), "gzip"),
        Page(MISSING_URL, 404, "Not Found", "text/html; charset=UTF-8", b"<h1>404</h1>"),
        Page(
            f"{PORTAL}/tin-tuc",
            301,
            "Moved Permanently",
            "text/html",
            b"",
            extra_headers=[("Location", f"{PORTAL}/tin-tuc/")],
        ),
        Page(IMAGE_URL, 200, "OK", "image/png", PNG),
        Page(
            SEARCH_URL,
            200,
            "OK",
            "text/html",
            b"<p>ket qua</p>",
            method="POST",
            request_body=b"s=c%E1%BA%A3ng",
        ),
    ]


def exchange(page: Page, fetched_at: datetime) -> ExchangeData:
    headers = [("Content-Type", page.content_type), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
    if page.content_encoding:
        headers.append(("Content-Encoding", page.content_encoding))
    headers += page.extra_headers + [("Content-Length", str(len(page.body)))]
    return ExchangeData(
        url=page.url,
        method=page.method,
        request_target=page.url.removeprefix(PORTAL),
        request_headers=[("Host", "thanhphohaiphong.gov.vn"), ("Accept-Encoding", "gzip")],
        request_body=page.request_body,
        http_version="HTTP/1.1",
        status=page.status,
        reason=page.reason,
        response_headers=headers,
        body=page.body,
        was_chunked=False,
        ip_address="203.0.113.7",
        fetched_at=fetched_at,
    )


@dataclass
class Crawl:
    """One crawl written into an archive root: its WARCs and where each response landed."""

    crawl_id: str
    warcs: list[Path]
    responses: dict[str, RecordLocation]
    fetched_at: dict[str, datetime]


def write_crawl(
    root: Path,
    crawl_id: str,
    start: datetime,
    pages: list[Page],
    *,
    max_size: int = 10**9,
) -> Crawl:
    """Write every page as the crawler would (response, request, metadata) into `root`."""
    warc_dir = root / "warcs" / crawl_id
    warc_dir.mkdir(parents=True, exist_ok=True)
    warcs: list[Path] = []

    def move(path: Path) -> None:
        warcs.append(Path(shutil.move(path, warc_dir / path.name)))

    clock = (start + timedelta(seconds=n) for n in range(10**6))
    info = CrawlInfo(crawl_id, f"{PORTAL}/", "obey", "archive team", "worker1")
    responses, fetched = {}, {}
    with RotatingWarcWriter(
        root / "spool" / crawl_id,
        info,
        prefix="haiphong",
        max_size=max_size,
        on_closed=move,
        clock=lambda: next(clock),
    ) as writer:
        for number, page in enumerate(pages):
            fetched_at = start + timedelta(minutes=1, seconds=number)
            response, request = build_exchange_records(exchange(page, fetched_at))
            metadata = build_metadata_record(
                page.url,
                fetched_at,
                concurrent_to=response.rec_headers.get_header("WARC-Record-ID"),
                outlinks=[f"{PORTAL}/"],
                via=f"{PORTAL}/",
                fetched_by="http",
            )
            responses[page.url] = writer.write([response, request, metadata])[0]
            fetched[page.url] = fetched_at
    return Crawl(crawl_id, warcs, responses, fetched)


def index_crawl(root: Path, crawl: Crawl) -> list[Path]:
    index_dir = root / "indexes" / crawl.crawl_id
    return [index_warc(warc, index_dir / cdxj_name(warc)) for warc in crawl.warcs]


def read_lines(path: Path) -> list[tuple[str, str, dict]]:
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = CDXJ_LINE.match(line)
        assert match, line
        lines.append((match[1], match[2], json.loads(match[3])))
    return lines


def records_in(member: bytes) -> Iterator[tuple[str, str, str]]:
    for record in ArchiveIterator(BytesIO(member)):
        yield (
            record.rec_type,
            record.rec_headers.get_header("WARC-Target-URI"),
            record.rec_headers.get_header("WARC-Record-ID"),
        )


START = datetime(2026, 11, 26, 22, 0, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 27, 1, 0, 0, tzinfo=UTC)


@pytest.fixture
def archive_root(tmp_path: Path) -> Path:
    return tmp_path / "archive"


def test_every_response_is_indexed_at_its_record(archive_root: Path) -> None:
    # Small files: the crawl rotates, so the index of each file is checked on its own.
    crawl = write_crawl(archive_root, "crawl-a", START, portal_pages(), max_size=2000)
    assert len(crawl.warcs) > 1
    indexed: dict[str, tuple[str, dict]] = {}
    for warc, cdxj in zip(crawl.warcs, index_crawl(archive_root, crawl), strict=True):
        assert cdxj.name == warc.name.removesuffix(".warc.gz") + ".cdxj"
        lines = read_lines(cdxj)
        assert [line[:2] for line in lines] == sorted(line[:2] for line in lines)
        for key, timestamp, fields in lines:
            assert fields["filename"] == warc.name
            member = warc.read_bytes()[int(fields["offset"]) :][: int(fields["length"])]
            [(record_type, target, _)] = records_in(member)
            # Only what pywb replays: no request, metadata or warcinfo lines.
            assert record_type == "response"
            assert target == fields["url"]
            indexed[fields["url"]] = (timestamp, fields)
            assert key.startswith("vn,gov,thanhphohaiphong)/")
    assert set(indexed) == set(crawl.responses)
    for url, location in crawl.responses.items():
        timestamp, fields = indexed[url]
        assert fields["filename"] == location.filename
        assert (int(fields["offset"]), int(fields["length"])) == (location.offset, location.length)
        assert timestamp == crawl.fetched_at[url].strftime("%Y%m%d%H%M%S")
        assert fields["digest"].startswith("sha1:")
    assert indexed[MISSING_URL][1]["status"] == "404"
    assert indexed[IMAGE_URL][1]["mime"] == "image/png"
    assert indexed[ARTICLE_URL][1]["mime"] == "text/html"
    # pywb finds a POST response under its URL with the request body appended.
    assert indexed[SEARCH_URL][1]["method"] == "POST"


def test_index_lines_keep_pywb_keys_and_order(archive_root: Path) -> None:
    crawl = write_crawl(archive_root, "crawl-a", START, portal_pages())
    [cdxj] = index_crawl(archive_root, crawl)
    lines = cdxj.read_text(encoding="utf-8").splitlines()
    assert lines == sorted(lines)
    for key, _timestamp, fields in read_lines(cdxj):
        assert list(fields)[:7] == [
            "url", "mime", "status", "digest", "length", "offset", "filename",
        ]  # fmt: skip
        if fields.get("method") != "POST":
            assert key == url_key(fields["url"])
    post_key = next(key for key, _, fields in read_lines(cdxj) if fields["url"] == SEARCH_URL)
    assert post_key.startswith(url_key(SEARCH_URL) + "?__wb_method=post")


def test_importing_the_wacz_package_does_not_add_warcinfo_lines(archive_root: Path) -> None:
    # wacz appends "warcinfo" to cdxj-indexer's default record types when it is imported.
    import wacz.waczindexer  # noqa: F401

    crawl = write_crawl(archive_root, "crawl-a", START, portal_pages())
    [cdxj] = index_crawl(archive_root, crawl)
    assert {fields["url"] for _, _, fields in read_lines(cdxj)} == set(crawl.responses)


def test_index_replaces_the_old_one_whole_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    crawl = write_crawl(tmp_path, "crawl-a", START, portal_pages())
    out = tmp_path / "indexes" / "one.cdxj"
    out.parent.mkdir(parents=True)
    out.write_text("stale\n")
    assert index_warc(crawl.warcs[0], out) == out
    assert len(read_lines(out)) == len(crawl.responses)
    assert os.listdir(out.parent) == ["one.cdxj"]


def test_a_broken_warc_leaves_neither_index_nor_temporary_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.warc.gz"
    broken.write_bytes(b"\x00\x01 not an archive\r\n\r\n")
    out = tmp_path / "indexes" / "broken.cdxj"
    with pytest.raises(Exception, match="Unknown archive format"):
        index_warc(broken, out)
    assert os.listdir(out.parent) == []


def test_cdxj_name_needs_a_warc_file_name() -> None:
    assert cdxj_name(Path("a/haiphong-1.warc.gz")) == "haiphong-1.cdxj"
    assert cdxj_name(Path("b.warc")) == "b.cdxj"
    with pytest.raises(ValueError, match="not a WARC file name"):
        cdxj_name(Path("c.txt"))


def test_lookup_finds_captures_and_reads_the_stored_bytes(archive_root: Path) -> None:
    crawl = write_crawl(archive_root, "crawl-a", START, portal_pages(), max_size=2000)
    index_crawl(archive_root, crawl)
    index_dir = archive_root / "indexes" / "crawl-a"
    # Same SURT key: another scheme and an upper-case host find the capture.
    variant = ARTICLE_URL.replace("https://thanhphohaiphong", "http://THANHPHOHAIPHONG")
    [capture] = find_captures(index_dir, variant)
    location = crawl.responses[ARTICLE_URL]
    assert (capture.url, capture.status, capture.mime) == (ARTICLE_URL, 200, "text/html")
    assert (capture.filename, capture.offset, capture.length) == (
        location.filename, location.offset, location.length,
    )  # fmt: skip
    assert capture.crawl_id == "crawl-a"

    warc_path = capture_warc_path(archive_root, capture)
    stored = read_capture(warc_path, capture)
    assert stored.body == gzipped(ARTICLE_HTML)
    assert (stored.protocol, stored.status_line) == ("HTTP/1.1", "200 OK")
    assert [value for name, value in stored.headers if name == "Set-Cookie"] == ["a=1", "b=2"]
    assert ("Content-Encoding", "gzip") in stored.headers
    assert read_capture(warc_path, capture, decoded=True).body == ARTICLE_HTML.encode()

    [image] = find_captures(index_dir, IMAGE_URL)
    assert read_capture(capture_warc_path(archive_root, image), image).body == PNG
    [missing] = find_captures(index_dir, MISSING_URL)
    assert missing.status == 404
    assert read_capture(capture_warc_path(archive_root, missing), missing).body == b"<h1>404</h1>"
    assert find_captures(index_dir, f"{PORTAL}/never-fetched") == []


def test_lookup_refuses_an_index_that_points_at_the_wrong_record(archive_root: Path) -> None:
    crawl = write_crawl(archive_root, "crawl-a", START, portal_pages())
    [cdxj] = index_crawl(archive_root, crawl)
    [capture] = find_captures(cdxj.parent, ARTICLE_URL)
    warc_path = capture_warc_path(archive_root, capture)
    # The request record that follows the response: same URL, not a capture.
    request_at = capture.offset + capture.length
    stale = replace(capture, offset=request_at)
    with pytest.raises(ValueError, match="is a request of"):
        read_capture(warc_path, stale)
    to_the_end = warc_path.stat().st_size - capture.offset
    too_long = replace(capture, length=to_the_end)
    with pytest.raises(ValueError, match="more than one record"):
        read_capture(warc_path, too_long)


def test_captures_of_all_crawls_come_newest_first(archive_root: Path) -> None:
    old = write_crawl(archive_root, "crawl-a", START, portal_pages())
    new = write_crawl(archive_root, "crawl-b", LATER, portal_pages("<p>sửa lại</p>"))
    index_crawl(archive_root, old)
    index_crawl(archive_root, new)
    captures = archive_captures(archive_root, ARTICLE_URL)
    assert [c.crawl_id for c in captures] == ["crawl-b", "crawl-a"]
    assert captures[0].timestamp > captures[1].timestamp
    [only_old] = archive_captures(archive_root, ARTICLE_URL, crawl_id="crawl-a")
    assert only_old.timestamp == old.fetched_at[ARTICLE_URL].strftime("%Y%m%d%H%M%S")
    assert archive_captures(archive_root, ARTICLE_URL, crawl_id="no-such-crawl") == []


def run_show(tmp_path: Path, archive_root: Path, *args: str) -> subprocess.CompletedProcess:
    env = scrapy_env("settings.default")
    env.pop("ARCHIVE_URI", None)
    scrapy = Path(sys.executable).parent / "scrapy"
    done = subprocess.run(
        [str(scrapy), "show", "-s", f"ARCHIVE_URI={archive_root}", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert_no_warning_raised(done.stderr.decode("utf-8", "replace"))
    return done


@pytest.fixture
def two_crawls(tmp_path: Path, archive_root: Path) -> tuple[Crawl, Crawl]:
    old = write_crawl(archive_root, "crawl-a", START, portal_pages())
    new = write_crawl(archive_root, "crawl-b", LATER, portal_pages("<p>sửa lại</p>"))
    index_crawl(archive_root, old)
    index_crawl(archive_root, new)
    return old, new


def split_response(stdout: bytes) -> tuple[list[str], bytes]:
    head, _, body = stdout.partition(b"\r\n\r\n")
    return head.decode("latin-1").split("\r\n"), body


def test_show_prints_the_newest_response_as_stored(
    tmp_path: Path, archive_root: Path, two_crawls: tuple[Crawl, Crawl]
) -> None:
    result = run_show(tmp_path, archive_root, ARTICLE_URL)
    assert result.returncode == 0, result.stderr.decode()
    head, body = split_response(result.stdout)
    assert head[0] == "HTTP/1.1 200 OK"
    assert "Content-Encoding: gzip" in head
    assert head.count("Set-Cookie: a=1") == 1 and "Set-Cookie: b=2" in head
    assert body == gzipped("<p>sửa lại</p>")
    assert b"crawl-b" in result.stderr


def test_show_decoded_headers_only_and_one_crawl(
    tmp_path: Path, archive_root: Path, two_crawls: tuple[Crawl, Crawl]
) -> None:
    decoded = run_show(tmp_path, archive_root, ARTICLE_URL, "--decoded", "--crawl", "crawl-a")
    assert decoded.returncode == 0, decoded.stderr.decode()
    assert split_response(decoded.stdout)[1] == ARTICLE_HTML.encode()

    head_only = run_show(tmp_path, archive_root, MISSING_URL, "--headers-only")
    assert head_only.returncode == 0, head_only.stderr.decode()
    head, body = split_response(head_only.stdout)
    assert head[0] == "HTTP/1.1 404 Not Found"
    assert body == b""


def test_show_lists_captures_newest_first(
    tmp_path: Path, archive_root: Path, two_crawls: tuple[Crawl, Crawl]
) -> None:
    old, new = two_crawls
    result = run_show(tmp_path, archive_root, IMAGE_URL, "--list")
    assert result.returncode == 0, result.stderr.decode()
    rows = [line.split(" ") for line in result.stdout.decode().splitlines()]
    expected = []
    for crawl in (new, old):
        location = crawl.responses[IMAGE_URL]
        expected.append([
            crawl.fetched_at[IMAGE_URL].strftime("%Y%m%d%H%M%S"), "200", "image/png",
            crawl.crawl_id, location.filename, str(location.offset), str(location.length),
        ])  # fmt: skip
    assert rows == expected


def test_show_exits_1_for_a_url_never_captured(
    tmp_path: Path, archive_root: Path, two_crawls: tuple[Crawl, Crawl]
) -> None:
    result = run_show(tmp_path, archive_root, f"{PORTAL}/never-fetched")
    assert result.returncode == 1
    assert result.stdout == b""
    assert b"no capture of https://thanhphohaiphong.gov.vn/never-fetched" in result.stderr
    other_crawl = run_show(tmp_path, archive_root, ARTICLE_URL, "--crawl", "crawl-z")
    assert other_crawl.returncode == 1
    assert b"in crawl crawl-z" in other_crawl.stderr


def test_every_item_of_a_whole_crawl_is_found_and_shown(crawled, tmp_path: Path) -> None:
    # The crawl's own archive root, indexed as the crawl leaves it; nothing is written there.
    root, crawl_id = crawled.result.archive, crawled.result.crawl_id
    items = crawled.result.items
    assert items
    for item in items:
        pointer = item["warc"]
        with open(root / "warcs" / crawl_id / pointer["filename"], "rb") as fh:
            fh.seek(pointer["offset"])
            [(_, target, _)] = records_in(fh.read(pointer["length"]))
        located = {(c.filename, c.offset, c.length) for c in archive_captures(root, target)}
        assert (pointer["filename"], pointer["offset"], pointer["length"]) in located

    item = items[0]
    [capture] = [
        c for c in archive_captures(root, item["url"]) if c.offset == item["warc"]["offset"]
    ]
    result = run_show(tmp_path, root, capture.url, "--decoded")
    assert result.returncode == 0, result.stderr.decode()
    head, body = split_response(result.stdout)
    assert head[0] == "HTTP/1.1 200 OK"
    assert item["title"] in html.unescape(body.decode("utf-8"))


@pytest.mark.parametrize("sort_buffer", [cdxj_module.SORT_BUFFER, 500])
def test_an_index_built_as_the_file_is_written_equals_the_whole_file_index(
    tmp_path: Path, monkeypatch, sort_buffer: int
):
    # Stretches of one exchange each, and a POST whose key needs its request record. A
    # small sort buffer: the lines go through sorted runs in temporary files, merged.
    monkeypatch.setattr(cdxj_module, "SORT_BUFFER", sort_buffer)
    info = CrawlInfo("c1", f"{PORTAL}/", "obey", "archive team", "worker1")
    start = datetime(2026, 11, 1, tzinfo=UTC)
    pages = portal_pages() * 3
    with RotatingWarcWriter(tmp_path / "spool", info, prefix="haiphong") as writer:
        for number, page in enumerate(pages):
            writer.write(build_exchange_records(exchange(page, start + timedelta(seconds=number))))
            file = writer.current
            if number == 0:
                index = IncrementalIndex(file.open_path, file.filename)
            file.flush()
            index.add(file.size)
    [warc] = (tmp_path / "spool").glob("*.warc.gz")
    index.add(warc.stat().st_size)
    incremental = index.finish(tmp_path / "incremental.cdxj")
    whole = index_warc(warc, tmp_path / "whole.cdxj")
    assert incremental.read_bytes() == whole.read_bytes()
    lines = read_lines(incremental)
    assert len(lines) == len(pages)
    assert any("__wb_method=post" in key for key, _ts, _fields in lines)


def test_every_index_of_a_whole_crawl_equals_the_whole_file_index(crawled, tmp_path) -> None:
    # The crawl's writer indexed each file as it wrote it; cdxj-indexer over the finished
    # file must give the same bytes.
    root, crawl_id = crawled.result.archive, crawled.result.crawl_id
    warcs = sorted((root / "warcs" / crawl_id).glob("*.warc.gz"))
    assert len(warcs) > 1
    for warc in warcs:
        stored = root / "indexes" / crawl_id / cdxj_name(warc)
        whole = index_warc(warc, tmp_path / cdxj_name(warc))
        assert stored.read_bytes() == whole.read_bytes(), warc.name


def test_each_warc_of_a_whole_crawl_is_indexed_once(crawled) -> None:
    # The last file is closed as the crawl ends, while the WACZ is being packed: it must
    # still be indexed once, by the step that stores it, not again by the packing.
    root, crawl_id = crawled.result.archive, crawled.result.crawl_id
    warcs = list((root / "warcs" / crawl_id).glob("*.warc.gz"))
    assert len(warcs) > 1
    assert crawled.result.stats["archive/indexes"] == len(warcs)
    assert len(list((root / "indexes" / crawl_id).glob("*.cdxj"))) == len(warcs)
