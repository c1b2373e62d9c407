"""Recovery of the `.open` WARC files a killed crawl leaves in the spool."""

from __future__ import annotations

import gzip
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.archive.files import RecordLocation
from crawler.archive.recovery import recover_spool
from tests.crawl import assert_no_warning_raised, python_warnings
from tests.test_archive_records import assert_fastwarc_digests, assert_warcio_check

REPO = Path(__file__).resolve().parent.parent

# Writes exchanges through the real writer, reports where they went, then dies by SIGKILL:
# nothing gets closed, flushed by Python or renamed.
CRASHING_CRAWL = """
import dataclasses, json, os, signal, sys
from pathlib import Path
from crawler.archive.files import RotatingWarcWriter
from tests.test_archive_records import CRAWL_INFO, exchange_records, make_exchange

writer = RotatingWarcWriter(Path(sys.argv[1]), CRAWL_INFO, prefix="haiphong")
locations = []
for n in range(int(sys.argv[2])):
    exchange = make_exchange(url=f"https://thanhphohaiphong.gov.vn/tin?id={n}")
    locations += writer.write(exchange_records(exchange))
print(json.dumps([dataclasses.asdict(location) for location in locations]), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""

# A whole, well-formed record whose block does not match its digest: not a readable record.
FORGED_RECORD = (
    b"WARC/1.0\r\n"
    b"WARC-Type: resource\r\n"
    b"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000000>\r\n"
    b"WARC-Date: 2026-11-26T23:15:26Z\r\n"
    b"WARC-Block-Digest: sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n"
    b"Content-Length: 3\r\n"
    b"\r\n"
    b"abc\r\n\r\n"
)


def crash_mid_crawl(spool: Path, exchanges: int = 3) -> tuple[Path, list[RecordLocation]]:
    """The `.open` file of a crawl killed after `exchanges`, and where its records lie."""
    result = subprocess.run(
        [sys.executable, "-c", CRASHING_CRAWL, str(spool), str(exchanges)],
        cwd=REPO,
        env={**os.environ, "PYTHONWARNINGS": python_warnings()},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert_no_warning_raised(result.stderr)
    locations = [RecordLocation(**fields) for fields in json.loads(result.stdout)]
    [open_path] = spool.glob("*.warc.gz.open")
    assert open_path.name == locations[0].filename + ".open"
    return open_path, locations


def record_ids(path: Path) -> list[str]:
    with open(path, "rb") as fh:
        return [record.rec_headers["WARC-Record-ID"] for record in ArchiveIterator(fh)]


def assert_recovered(spool: Path, recovered: list[Path], kept: list[RecordLocation]) -> None:
    """One final-named file holding warcinfo and exactly the `kept` records, all valid."""
    final = spool / kept[0].filename
    assert recovered == [final]
    assert not list(spool.glob("*.open"))
    assert final.stat().st_size == kept[-1].offset + kept[-1].length
    assert record_ids(final)[1:] == [location.record_id for location in kept]
    assert_warcio_check(final)
    assert assert_fastwarc_digests(final) == len(kept) + 1


def test_file_cut_in_the_middle_of_its_last_record(tmp_path: Path, caplog) -> None:
    open_path, locations = crash_mid_crawl(tmp_path)
    last = locations[-1]
    with open(open_path, "r+b") as fh:
        fh.truncate(last.offset + last.length // 2)

    with caplog.at_level(logging.WARNING, logger="crawler.archive.recovery"):
        recovered = recover_spool(tmp_path)

    assert_recovered(tmp_path, recovered, locations[:-1])
    cut = last.length // 2
    assert f"kept 9 records ({last.offset} bytes), cut {cut} bytes" in caplog.text


def test_file_cut_inside_the_gzip_trailer_of_its_last_record(tmp_path: Path) -> None:
    # The record itself inflates whole; only the member's CRC and size are missing.
    open_path, locations = crash_mid_crawl(tmp_path)
    with open(open_path, "r+b") as fh:
        fh.truncate(open_path.stat().st_size - 3)

    assert_recovered(tmp_path, recover_spool(tmp_path), locations[:-1])


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\x17 half a write \xff" * 50,
        gzip.compress(b"not a WARC record\r\n\r\n"),
        b"\x1f\x8b\x08\x00",
        gzip.compress(FORGED_RECORD),
    ],
    ids=["bytes", "gzip-member-of-junk", "gzip-magic-only", "record-failing-its-digest"],
)
def test_garbage_after_the_last_record_is_cut(tmp_path: Path, garbage: bytes) -> None:
    open_path, locations = crash_mid_crawl(tmp_path)
    with open(open_path, "ab") as fh:
        fh.write(garbage)

    assert_recovered(tmp_path, recover_spool(tmp_path), locations)


def test_intact_open_file_is_renamed_whole(tmp_path: Path, caplog) -> None:
    _, locations = crash_mid_crawl(tmp_path, exchanges=2)
    with caplog.at_level(logging.INFO, logger="crawler.archive.recovery"):
        recovered = recover_spool(tmp_path)
    assert_recovered(tmp_path, recovered, locations)
    assert "all 7 records complete" in caplog.text


def test_file_without_a_complete_record_is_removed(tmp_path: Path, caplog) -> None:
    open_path, _ = crash_mid_crawl(tmp_path)
    with open(open_path, "r+b") as fh:
        fh.truncate(100)  # inside the warcinfo record
    (tmp_path / "haiphong-20261126231526-00000-h-1.warc.gz.open").touch()
    (tmp_path / "haiphong-20261126231526-00001-h-1.warc.gz.open").write_bytes(b"\0" * 10)

    with caplog.at_level(logging.WARNING, logger="crawler.archive.recovery"):
        assert recover_spool(tmp_path) == []

    assert list(tmp_path.iterdir()) == []
    assert "no complete WARC record in its 100 bytes" in caplog.text
    assert "no complete WARC record in its 0 bytes" in caplog.text
    assert "no complete WARC record in its 10 bytes" in caplog.text


def test_closed_files_in_the_spool_are_left_alone(tmp_path: Path) -> None:
    open_path, locations = crash_mid_crawl(tmp_path)
    closed = tmp_path / "haiphong-20261126000000-00000-h-1.warc.gz"
    closed.write_bytes(b"not even a WARC; recovery must not look at it")

    assert_recovered(tmp_path, recover_spool(tmp_path), locations)
    assert closed.read_bytes() == b"not even a WARC; recovery must not look at it"


def test_recovery_refuses_to_overwrite_a_final_file(tmp_path: Path) -> None:
    open_path, locations = crash_mid_crawl(tmp_path)
    (tmp_path / locations[0].filename).write_bytes(b"already here")
    with pytest.raises(FileExistsError, match="already exists"):
        recover_spool(tmp_path)
    assert open_path.exists()
