"""The WACZ package of a crawl: accepted by `wacz validate`, and holding what it says it holds."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.archive.wacz_package import build_wacz
from tests.test_archive_indexes import (
    ARTICLE_URL,
    IMAGE_URL,
    MISSING_URL,
    START,
    Crawl,
    index_crawl,
    portal_pages,
    write_crawl,
)

PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
TITLE = "Cổng tin tức Thành phố Hải Phòng — crawl-a"
ARTICLE_TEXT = "Hải Phòng chuẩn bị đón Tết.\n\nNgười dân đi chợ hoa."


def wacz_validate(path: Path) -> subprocess.CompletedProcess:
    wacz = Path(sys.executable).parent / "wacz"
    return subprocess.run(
        [str(wacz), "validate", "-f", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def pages_of(crawl: Crawl) -> list[dict]:
    return [
        {
            "url": url,
            "ts": crawl.fetched_at[url].isoformat().replace("+00:00", "Z"),
            "title": title,
            "text": text,
        }
        for url, title, text in (
            (ARTICLE_URL, "Hải Phòng đón Tết", ARTICLE_TEXT),
            (MISSING_URL, "Không tìm thấy", ""),
        )
    ]


@pytest.fixture
def packed(tmp_path: Path) -> tuple[Crawl, list[Path], Path]:
    root = tmp_path / "archive"
    # Small files: several WARCs and several indexes go into the package.
    crawl = write_crawl(root, "crawl-a", START, portal_pages(), max_size=2000)
    cdxjs = index_crawl(root, crawl)
    assert len(cdxjs) > 1
    out = root / "wacz" / "crawl-a.wacz"
    assert build_wacz(out, crawl.warcs, cdxjs, iter(pages_of(crawl)), TITLE) == out
    return crawl, cdxjs, out


def test_wacz_validates(packed: tuple[Crawl, list[Path], Path]) -> None:
    _crawl, _cdxjs, out = packed
    result = wacz_validate(out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation succeeded" in result.stdout


def test_wacz_validate_rejects_a_package_whose_pages_were_changed(
    packed: tuple[Crawl, list[Path], Path], tmp_path: Path
) -> None:
    # The check above means something: the same package with one member altered fails.
    _crawl, _cdxjs, out = packed
    tampered = tmp_path / "tampered.wacz"
    with zipfile.ZipFile(out) as source, zipfile.ZipFile(tampered, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "pages/pages.jsonl":
                data += b'{"url": "https://example.org/", "ts": "2026-11-26T22:00:00Z"}\n'
            target.writestr(info, data)
    assert wacz_validate(tampered).returncode == 1


def test_wacz_members_and_datapackage(packed: tuple[Crawl, list[Path], Path]) -> None:
    crawl, _cdxjs, out = packed
    with zipfile.ZipFile(out) as wacz:
        members = {info.filename: info for info in wacz.infolist()}
        archives = {f"archive/{warc.name}": warc for warc in crawl.warcs}
        assert set(members) == {
            *archives,
            "indexes/index.cdxj",
            "pages/pages.jsonl",
            "datapackage.json",
            "datapackage-digest.json",
        }
        for name, warc in archives.items():
            # Stored, not deflated: replay reads byte ranges of the WARCs in the zip.
            assert members[name].compress_type == zipfile.ZIP_STORED
            assert wacz.read(name) == warc.read_bytes()
        package_bytes = wacz.read("datapackage.json")
        package = json.loads(package_bytes)
        digest = json.loads(wacz.read("datapackage-digest.json"))
        resources = {resource["path"]: resource for resource in package["resources"]}
        assert set(resources) == set(members) - {"datapackage.json", "datapackage-digest.json"}
        for path, resource in resources.items():
            data = wacz.read(path)
            assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
            assert resource["bytes"] == len(data)
    assert package["wacz_version"] == "1.1.1"
    assert package["profile"] == "data-package"
    assert package["title"] == TITLE
    assert digest == {
        "path": "datapackage.json",
        "hash": "sha256:" + hashlib.sha256(package_bytes).hexdigest(),
    }


def test_wacz_index_is_the_crawl_indexes_merged_and_resolves_in_the_zip(
    packed: tuple[Crawl, list[Path], Path],
) -> None:
    crawl, cdxjs, out = packed
    expected = sorted(line for cdxj in cdxjs for line in cdxj.read_text().splitlines())
    with zipfile.ZipFile(out) as wacz:
        lines = wacz.read("indexes/index.cdxj").decode().splitlines()
        assert lines == expected
        found = set()
        for line in lines:
            fields = json.loads(line.split(" ", 2)[2])
            archived = wacz.read(f"archive/{fields['filename']}")
            offset, length = int(fields["offset"]), int(fields["length"])
            [record] = list(ArchiveIterator(BytesIO(archived[offset : offset + length])))
            assert record.rec_type == "response"
            assert record.rec_headers.get_header("WARC-Target-URI") == fields["url"]
            found.add(fields["url"])
    assert found == set(crawl.responses)
    assert {ARTICLE_URL, IMAGE_URL, MISSING_URL} <= found


def test_wacz_pages_list(packed: tuple[Crawl, list[Path], Path]) -> None:
    crawl, _cdxjs, out = packed
    with zipfile.ZipFile(out) as wacz:
        lines = wacz.read("pages/pages.jsonl").decode("utf-8").splitlines()
    assert json.loads(lines[0]) == PAGES_HEADER
    pages = [json.loads(line) for line in lines[1:]]
    assert [{k: v for k, v in page.items() if k != "id"} for page in pages] == pages_of(crawl)
    assert pages[0]["ts"] == "2026-11-26T22:01:00Z"
    assert pages[0]["text"] == ARTICLE_TEXT
    ids = [page["id"] for page in pages]
    assert len(set(ids)) == len(ids) and all(ids)
    # Text stays readable in the file, not \\u-escaped.
    assert "Hải Phòng đón Tết" in lines[1]


def test_a_bad_page_is_left_out_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "archive"
    crawl = write_crawl(root, "crawl-a", START, portal_pages())
    good = pages_of(crawl)[0]
    pages = [
        {**good, "ts": None},
        {"ts": good["ts"], "title": "no url", "text": ""},
        {**good, "ts": "hôm qua"},
        {"url": good["url"], "ts": good["ts"]},
    ]
    out = root / "wacz" / "crawl-a.wacz"
    with caplog.at_level(logging.WARNING, logger="crawler.archive.wacz_package"):
        build_wacz(out, crawl.warcs, index_crawl(root, crawl), pages, TITLE)
    assert wacz_validate(out).returncode == 0
    with zipfile.ZipFile(out) as wacz:
        lines = wacz.read("pages/pages.jsonl").decode("utf-8").splitlines()
    [listed] = [json.loads(line) for line in lines[1:]]
    # Title and text default to the URL and nothing.
    assert {k: v for k, v in listed.items() if k != "id"} == {
        "url": good["url"], "ts": good["ts"], "title": good["url"], "text": "",
    }  # fmt: skip
    left_out = [r.getMessage() for r in caplog.records]
    assert len(left_out) == 3
    assert "page 1 left out" in left_out[0] and "None is not an ISO 8601" in left_out[0]
    assert "page 2 left out: no url" in left_out[1]
    assert "'hôm qua' is not an ISO 8601" in left_out[2]


def test_a_failed_package_leaves_no_file(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    crawl = write_crawl(root, "crawl-a", START, portal_pages())
    cdxjs = index_crawl(root, crawl)
    out_dir = root / "wacz"
    out_dir.mkdir()
    (crawl.warcs[-1]).unlink()
    with pytest.raises(FileNotFoundError):
        build_wacz(out_dir / "crawl-a.wacz", crawl.warcs, cdxjs, pages_of(crawl), TITLE)
    assert os.listdir(out_dir) == []


def test_warc_names_must_be_unique(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    crawl = write_crawl(root, "crawl-a", START, portal_pages())
    twice = [crawl.warcs[0], crawl.warcs[0]]
    with pytest.raises(ValueError, match="unique"):
        build_wacz(root / "wacz" / "x.wacz", twice, index_crawl(root, crawl), [], TITLE)
    assert not (root / "wacz").exists()
