"""pywb, in its own environment, replays archived articles: real WARCs, real CDXJ, real pywb.

The archive is written by the crawler's own WARC writer and indexer from fixture-portal pages
(some gzip-encoded, some de-chunked, as a crawl stores them); pywb is started through
`crawler.replay.pywb` and asked over HTTP. Without `.venv-pywb/` these tests fail, saying to
run scripts/setup.
"""

from __future__ import annotations

import gzip
import html
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.archive.cdxj import cdxj_name, index_warc
from crawler.archive.files import RotatingWarcWriter
from crawler.archive.records import (
    CrawlInfo,
    ExchangeData,
    build_exchange_records,
    build_metadata_record,
)
from crawler.replay.pywb import (
    PywbNotInstalled,
    PywbServer,
    archive_collections,
    first_capture,
    start_pywb,
)
from fixture_portal import Article, build_site, render_article
from tests.crawl import assert_no_warning_raised, python_warnings

REPO = Path(__file__).resolve().parents[1]
PORTAL = "https://thanhphohaiphong.gov.vn/"
CRAWL_ID = "20261126231526-a1b2c3"
OTHER_CRAWL_ID = "20261127080000-d4e5f6"
ARTICLES = 24
# Small files, so that a crawl spans several WARCs (and CDXJ files) as a long one does.
WARC_MAX_SIZE = 40_000
STARTED_AT = datetime(2026, 11, 26, 23, 15, 26, tzinfo=UTC)


@dataclass(frozen=True)
class Page:
    url: str
    title: str
    sapo: str | None
    first_paragraph: str
    timestamp: str
    gzipped: bool


@dataclass(frozen=True)
class Archive:
    root: Path
    pages: list[Page]
    other_pages: list[Page]


def response_headers(body: bytes, gzipped: bool, chunked: bool) -> list[tuple[str, str]]:
    headers = [
        ("Server", "nginx"),
        ("Date", "Thu, 26 Nov 2026 23:15:26 GMT"),
        ("Content-Type", "text/html; charset=UTF-8"),
        ("Link", f'<{PORTAL}wp-json/>; rel="https://api.w.org/"'),
        ("Vary", "Accept-Encoding"),
    ]
    if gzipped:
        headers.append(("Content-Encoding", "gzip"))
    headers.append(
        ("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(len(body)))
    )
    return headers


def article_exchange(site, article: Article, index: int, fetched_at: datetime) -> ExchangeData:
    """The exchange of one article page, as the crawler receives it."""
    body = render_article(site, article.slug, theme="classic", base_url=PORTAL).encode("utf-8")
    gzipped = index % 2 == 0
    chunked = index % 3 == 0
    if gzipped:
        body = gzip.compress(body, mtime=0)
    return ExchangeData(
        url=article.url(PORTAL),
        method="GET",
        request_target="/" + article.path,
        request_headers=[
            ("Host", "thanhphohaiphong.gov.vn"),
            ("User-Agent", "HaiPhongPortalArchiver/0.1.0"),
            ("Accept-Encoding", "gzip, deflate"),
        ],
        request_body=b"",
        http_version="HTTP/1.1",
        status=200,
        reason="OK",
        response_headers=response_headers(body, gzipped, chunked),
        body=body,
        was_chunked=chunked,
        ip_address="203.0.113.7",
        fetched_at=fetched_at,
    )


def write_crawl(root: Path, crawl_id: str, articles: list[Article], site) -> list[Page]:
    """Archive the articles as one crawl: WARCs under warcs/<crawl_id>/, CDXJ under indexes/."""
    warcs = root / "warcs" / crawl_id
    indexes = root / "indexes" / crawl_id
    warcs.mkdir(parents=True)

    def move_and_index(path: Path) -> None:
        final = Path(shutil.move(path, warcs / path.name))
        index_warc(final, indexes / cdxj_name(final))

    info = CrawlInfo(crawl_id, PORTAL, "obey", "Archive team <archive@example.org>", "crawler-1")
    pages = []
    writer = RotatingWarcWriter(
        root / "spool", info, prefix="haiphong", max_size=WARC_MAX_SIZE, on_closed=move_and_index
    )
    with writer:
        for index, article in enumerate(articles):
            fetched_at = STARTED_AT + timedelta(minutes=index)
            data = article_exchange(site, article, index, fetched_at)
            response, request = build_exchange_records(data)
            metadata = build_metadata_record(
                data.url,
                fetched_at,
                concurrent_to=response.rec_headers.get_header("WARC-Record-ID"),
                outlinks=[PORTAL],
                via=PORTAL,
                fetched_by="http",
            )
            writer.write([response, request, metadata])
            pages.append(
                Page(
                    url=data.url,
                    title=article.title,
                    sapo=article.sapo,
                    first_paragraph=article.paragraphs[0],
                    timestamp=fetched_at.strftime("%Y%m%d%H%M%S"),
                    gzipped=index % 2 == 0,
                )
            )
    return pages


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    root = tmp_path_factory.mktemp("archive")
    site = build_site(seed=1)
    plain = [a for a in site.articles if a.kind == "article" and not a.quirk and not a.disallowed]
    pages = write_crawl(root, CRAWL_ID, plain[:ARTICLES], site)
    other = write_crawl(root, OTHER_CRAWL_ID, plain[ARTICLES : ARTICLES + 2], site)
    return Archive(root, pages, other)


@pytest.fixture(scope="module")
def pywb(archive: Archive) -> Iterator[PywbServer]:
    # No pywb environment: PywbNotInstalled fails every test here, saying to run scripts/setup.
    with start_pywb(archive.root) as server:
        yield server


@dataclass(frozen=True)
class Fetched:
    status: int
    headers: dict[str, str]
    text: str


def fetch(url: str) -> Fetched:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return Fetched(response.status, dict(response.headers), response.read().decode())
    except urllib.error.HTTPError as error:
        with error:
            return Fetched(error.code, dict(error.headers), error.read().decode())


def test_the_archive_spans_several_warcs_and_indexes(archive: Archive) -> None:
    warcs = sorted((archive.root / "warcs" / CRAWL_ID).glob("*.warc.gz"))
    indexes = sorted((archive.root / "indexes" / CRAWL_ID).glob("*.cdxj"))
    assert len(warcs) >= 2
    assert [cdxj_name(w) for w in warcs] == [i.name for i in indexes]
    assert len(archive.pages) >= 20
    assert {page.gzipped for page in archive.pages} == {True, False}


def test_pywb_replays_every_archived_article(pywb: PywbServer, archive: Archive) -> None:
    for page in archive.pages:
        replayed = fetch(pywb.replay_url(CRAWL_ID, page.url, page.timestamp, "mp_"))
        assert replayed.status == 200, page.url
        text = html.unescape(replayed.text)
        assert page.title in text, page.url
        assert (page.sapo or page.first_paragraph)[:80] in text, page.url
        assert page.first_paragraph[:80] in text, page.url
        moment = datetime.strptime(page.timestamp, "%Y%m%d%H%M%S")
        assert replayed.headers["Memento-Datetime"] == moment.strftime("%a, %d %b %Y %H:%M:%S GMT")
        # pywb decoded the stored gzip body and says the original was gzipped.
        original_encoding = replayed.headers.get("X-Archive-Orig-Content-Encoding")
        assert original_encoding == ("gzip" if page.gzipped else None), page.url


def test_latest_capture_and_framed_replay(pywb: PywbServer, archive: Archive) -> None:
    page = archive.pages[-1]
    latest = fetch(pywb.replay_url(CRAWL_ID, page.url, modifier="mp_"))
    assert latest.status == 200
    assert page.title in html.unescape(latest.text)
    # The framed page (pywb's banner around an iframe) is what the command prints.
    framed = fetch(pywb.replay_url(CRAWL_ID, page.url, page.timestamp))
    assert framed.status == 200
    assert "wb_frame.js" in framed.text
    assert fetch(pywb.collection_url(CRAWL_ID)).status == 200


def test_each_crawl_is_its_own_collection(pywb: PywbServer, archive: Archive) -> None:
    assert [c.name for c in pywb.collections] == [CRAWL_ID, OTHER_CRAWL_ID]
    other = archive.other_pages[0]
    replayed = fetch(pywb.replay_url(OTHER_CRAWL_ID, other.url, other.timestamp, "mp_"))
    assert replayed.status == 200
    assert other.title in html.unescape(replayed.text)
    assert fetch(pywb.replay_url(CRAWL_ID, other.url, other.timestamp, "mp_")).status == 404


def test_first_capture_is_an_archived_page(archive: Archive) -> None:
    collections = archive_collections(archive.root, [CRAWL_ID])
    capture = first_capture(collections[0])
    assert capture is not None
    assert (capture.url, capture.timestamp) in {(p.url, p.timestamp) for p in archive.pages}


def test_stop_ends_pywb(archive: Archive) -> None:
    server = start_pywb(archive.root, crawl_ids=[OTHER_CRAWL_ID])
    page = archive.other_pages[0]
    assert fetch(server.replay_url(OTHER_CRAWL_ID, page.url, modifier="mp_")).status == 200
    server.stop()
    assert server.process.returncode is not None
    assert not process_exists(server.pid)
    assert not server.workdir.exists()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(server.base_url + "/", timeout=5)


def test_a_taken_port_fails_with_pywb_log(pywb: PywbServer, archive: Archive) -> None:
    port = int(pywb.base_url.rsplit(":", 1)[1])
    with pytest.raises(RuntimeError, match="Address already in use"):
        start_pywb(archive.root, port=port)


def test_without_pywb_environment_says_run_setup(archive: Archive, tmp_path: Path) -> None:
    with pytest.raises(PywbNotInstalled, match="run scripts/setup"):
        start_pywb(archive.root, pywb_venv=tmp_path / ".venv-pywb")


def test_nothing_to_replay(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nothing to replay"):
        start_pywb(tmp_path)
    with pytest.raises(ValueError, match="no directory"):
        archive_collections(tmp_path, ["20261126231526-a1b2c3"])


def test_pywb_replays_a_whole_crawl(crawled) -> None:
    """The archive a whole crawl of the fixture portal left (its WARCs, its CDXJ) replays."""
    crawl_id = crawled.result.crawl_id
    plain = {
        article.url(crawled.base_url)
        for article in crawled.site.articles
        if article.kind == "article" and not article.quirk
    }
    items = [item for item in crawled.result.items if item["url"] in plain]
    assert len(items) >= 20
    encodings = set()
    with start_pywb(crawled.result.archive, crawl_ids=[crawl_id]) as server:
        for item in items:
            expected = crawled.expected[item["url"]]
            replayed = fetch(server.replay_url(crawl_id, item["fetched_url"], modifier="mp_"))
            assert replayed.status == 200, item["fetched_url"]
            text = unicodedata.normalize("NFC", html.unescape(replayed.text))
            assert expected["title"] in text, item["fetched_url"]
            assert (expected["sapo"] or expected["body"])[:80] in text, item["fetched_url"]
            assert expected["body"][:80] in text, item["fetched_url"]
            encodings.add(replayed.headers.get("X-Archive-Orig-Content-Encoding"))
    # Pages stored gzipped as sent, and pages sent plain, both replayed.
    assert encodings == {"gzip", None}


def test_replay_command_serves_until_sigterm(archive: Archive, tmp_path: Path) -> None:
    env = {**os.environ, "ARCHIVE_URI": str(archive.root), "PYTHONWARNINGS": python_warnings()}
    command = [sys.executable, "-m", "scrapy", "replay", "--crawl", OTHER_CRAWL_ID]
    stderr = tmp_path / "stderr"
    with stderr.open("wb") as errors:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=errors, text=True
        )
    lines = LineReader(process)
    try:
        printed = lines.until("replay: serving until Ctrl-C")
        pid = int(printed[0].split("(pid ", 1)[1].split(")", 1)[0])
        page_url = next(line for line in printed if line.startswith("replay:   page ")).split()[-1]
        # The example page is a capture of the crawl: one of its articles, framed.
        assert page_url in {
            f"http://{printed[0].split('http://', 1)[1].rstrip('/')}/{OTHER_CRAWL_ID}"
            f"/{page.timestamp}/{page.url}"
            for page in archive.other_pages
        }
        assert fetch(page_url).status == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert lines.until(None) == ["replay: stopped pywb"]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        lines.close()
    assert not process_exists(pid)
    assert_no_warning_raised(stderr.read_text(encoding="utf-8"))


class LineReader:
    """Lines of a process's stdout, read in a thread so that waiting for one has a deadline."""

    def __init__(self, process: subprocess.Popen, timeout: float = 60.0):
        self.timeout = timeout
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stream = process.stdout
        self._thread = threading.Thread(target=self._read, args=(self._stream,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Once the process has exited: wait for the end of its output, close the pipe."""
        self._thread.join(self.timeout)
        self._stream.close()

    def _read(self, stream) -> None:
        for line in stream:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def until(self, wanted: str | None) -> list[str]:
        """Lines up to and including `wanted` (None: up to the end of the output)."""
        deadline = time.monotonic() + self.timeout
        seen: list[str] = []
        while True:
            line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            if line is None:
                if wanted is None:
                    return seen
                raise AssertionError(f"output ended before {wanted!r}: {seen}")
            seen.append(line)
            if line == wanted:
                return seen


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
