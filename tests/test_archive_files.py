"""Rotating WARC files in the spool: names, warcinfo first, record locations, rotation."""

from __future__ import annotations

import gc
import os
import shutil
import weakref
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.archive.files import (
    RecordLocation,
    RotatingWarcWriter,
    warc_filename,
)
from tests.test_archive_records import (
    CRAWL_INFO,
    assert_fastwarc_digests,
    assert_warcio_check,
    exchange_records,
    make_exchange,
)

OPENED_AT = datetime(2026, 11, 26, 23, 15, 26, tzinfo=UTC)


def ticking_clock(start: datetime = OPENED_AT) -> Iterator[datetime]:
    moment = start
    while True:
        yield moment
        moment += timedelta(seconds=1)


class Archive:
    """The spool and archive root of one test, and an `on_closed` that moves files over."""

    def __init__(self, root: Path):
        self.spool = root / "spool"
        self.warcs = root / "archive" / "warcs" / CRAWL_INFO.crawl_id
        self.closed: list[Path] = []

    def on_closed(self, path: Path) -> None:
        self.warcs.mkdir(parents=True, exist_ok=True)
        self.closed.append(Path(shutil.move(path, self.warcs / path.name)))

    def writer(self, **options: object) -> RotatingWarcWriter:
        clock = ticking_clock()
        defaults = {"prefix": "haiphong", "on_closed": self.on_closed, "clock": lambda: next(clock)}
        return RotatingWarcWriter(self.spool, CRAWL_INFO, **{**defaults, **options})


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    return Archive(tmp_path)


def read_record_at(path: Path, location: RecordLocation) -> tuple[str, str]:
    """(WARC-Record-ID, WARC-Type) of the single record in `length` bytes at `offset`."""
    with open(path, "rb") as fh:
        fh.seek(location.offset)
        member = fh.read(location.length)
    assert len(member) == location.length
    records = []
    for record in ArchiveIterator(BytesIO(member)):
        records.append((record.rec_headers["WARC-Record-ID"], record.rec_headers["WARC-Type"]))
    assert len(records) == 1, records
    return records[0]


def record_types(path: Path) -> list[str]:
    with open(path, "rb") as fh:
        return [record.rec_headers["WARC-Type"] for record in ArchiveIterator(fh)]


def test_warc_filename_follows_iipc_habit() -> None:
    name = warc_filename("haiphong", OPENED_AT, 7, "crawler-1", 4242)
    assert name == "haiphong-20261126231526-00007-crawler-1-4242.warc.gz"


def test_file_is_open_while_written_and_moved_when_closed(archive: Archive) -> None:
    writer = archive.writer()
    locations = writer.write(exchange_records(make_exchange()))

    name = f"haiphong-20261126231526-00000-crawler-1-{os.getpid()}.warc.gz"
    assert {loc.filename for loc in locations} == {name}
    assert sorted(p.name for p in archive.spool.iterdir()) == [name + ".open"]
    assert archive.closed == []

    writer.close()
    assert list(archive.spool.iterdir()) == []
    assert archive.closed == [archive.warcs / name]
    writer.close()  # closing twice is harmless
    assert archive.closed == [archive.warcs / name]


def test_every_location_resolves_to_its_record(archive: Archive) -> None:
    with archive.writer() as writer:
        locations = []
        for n in range(5):
            exchange = make_exchange(url=f"https://thanhphohaiphong.gov.vn/tin?id={n}")
            locations += writer.write(exchange_records(exchange))
    [path] = archive.closed

    assert record_types(path) == ["warcinfo"] + ["response", "request", "metadata"] * 5
    assert [loc.record_id for loc in locations] == _record_ids(path)[1:]
    for location in locations:
        assert location.filename == path.name
        record_id, _ = read_record_at(path, location)
        assert record_id == location.record_id
    # Records lie back to back: each gzip member ends where the next begins.
    for before, after in zip(locations, locations[1:], strict=False):
        assert before.offset + before.length == after.offset
    assert locations[-1].offset + locations[-1].length == path.stat().st_size
    assert_warcio_check(path)
    assert assert_fastwarc_digests(path) == 16


def _record_ids(path: Path) -> list[str]:
    with open(path, "rb") as fh:
        return [record.rec_headers["WARC-Record-ID"] for record in ArchiveIterator(fh)]


def test_rotation_at_max_size_gives_consecutive_valid_files(archive: Archive) -> None:
    exchanges = [
        make_exchange(url=f"https://thanhphohaiphong.gov.vn/tin?id={n}", body=os.urandom(3000))
        for n in range(7)
    ]
    with archive.writer(max_size=7000) as writer:
        per_exchange = [writer.write(exchange_records(e)) for e in exchanges]

    assert len(archive.closed) >= 3
    pid = os.getpid()
    for serial, path in enumerate(archive.closed):
        stamp = (OPENED_AT + timedelta(seconds=serial)).strftime("%Y%m%d%H%M%S")
        assert path.name == f"haiphong-{stamp}-{serial:05d}-crawler-1-{pid}.warc.gz"
        types = record_types(path)
        assert types[0] == "warcinfo"
        assert types.count("warcinfo") == 1
        assert_warcio_check(path)
        assert_fastwarc_digests(path)
    # The records of one exchange never straddle two files, and every location resolves.
    by_name = {path.name: path for path in archive.closed}
    for locations in per_exchange:
        assert len({loc.filename for loc in locations}) == 1
        for location in locations:
            assert read_record_at(by_name[location.filename], location)[0] == location.record_id
    # A file is closed once it reaches max_size, so only the last one may be smaller.
    assert all(path.stat().st_size >= 7000 for path in archive.closed[:-1])


def test_a_file_past_max_size_is_closed_at_once(archive: Archive) -> None:
    writer = archive.writer(max_size=1)
    writer.write(exchange_records(make_exchange()))
    assert len(archive.closed) == 1
    assert list(archive.spool.iterdir()) == []
    writer.write(exchange_records(make_exchange()))
    assert [path.name.split("-")[2] for path in archive.closed] == ["00000", "00001"]


def test_writer_never_clobbers_an_existing_file(archive: Archive) -> None:
    first = archive.writer(on_closed=None)
    first.write(exchange_records(make_exchange()))
    # Same clock, same prefix, same pid: the second writer would pick the same name.
    second = archive.writer(on_closed=None)
    with pytest.raises(FileExistsError):
        second.write(exchange_records(make_exchange()))
    first.close()
    [path] = archive.spool.iterdir()
    assert_warcio_check(path)


def test_max_size_must_be_positive(archive: Archive) -> None:
    with pytest.raises(ValueError, match="max_size"):
        archive.writer(max_size=0)


def test_warcinfo_names_its_own_file(archive: Archive) -> None:
    info = replace(CRAWL_INFO, robots_policy="ignore")
    with RotatingWarcWriter(archive.spool, info, prefix="p", on_closed=archive.on_closed) as writer:
        writer.write(exchange_records(make_exchange()))
    [path] = archive.closed
    with open(path, "rb") as fh:
        warcinfo = next(iter(ArchiveIterator(fh)))
        assert warcinfo.rec_headers["WARC-Filename"] == path.name
        assert b"robots: ignore\r\n" in warcinfo.raw_stream.read()


class UnreadableBody(BytesIO):
    """A record body that fails when the writer reads it, after the response went out."""

    def read(self, size: int | None = -1) -> bytes:
        raise OSError("body lost")


def test_a_failed_exchange_is_taken_back_whole(archive: Archive) -> None:
    writer = archive.writer()
    kept = writer.write(exchange_records(make_exchange()))
    response, request, metadata = exchange_records(make_exchange(url="https://a.test/broken"))
    request.raw_stream = UnreadableBody()
    with pytest.raises(OSError, match="body lost"):
        writer.write([response, request, metadata])
    kept += writer.write(exchange_records(make_exchange(url="https://a.test/after")))
    writer.close()

    [path] = archive.closed
    assert _record_ids(path)[1:] == [location.record_id for location in kept]
    for location in kept:
        assert read_record_at(path, location)[0] == location.record_id
    assert_warcio_check(path)
    assert assert_fastwarc_digests(path) == 7


@pytest.mark.parametrize(
    ("option", "value"),
    [("prefix", "bad/prefix"), ("prefix", ""), ("host", "host name"), ("host", "-x")],
)
def test_file_name_parts_are_checked(archive: Archive, option: str, value: str) -> None:
    info = replace(CRAWL_INFO, hostname=value) if option == "host" else CRAWL_INFO
    prefix = value if option == "prefix" else "haiphong"
    with pytest.raises(ValueError, match="must match"):
        RotatingWarcWriter(archive.spool, info, prefix=prefix)


def test_writer_keeps_nothing_of_the_records_it_wrote(archive: Archive) -> None:
    # Memory stays flat over a crawl only if no record (nor its body) outlives its write.
    with archive.writer() as writer:
        records = exchange_records(make_exchange(body=os.urandom(100_000)))
        written = [weakref.ref(record) for record in records]
        bodies = [weakref.ref(record.raw_stream) for record in records]
        writer.write(records)
        del records
        gc.collect()
        assert all(ref() is None for ref in written + bodies)


def test_a_file_whose_warcinfo_fails_leaves_nothing_behind(archive: Archive) -> None:
    info = replace(CRAWL_INFO, operator="Archive team\r\nrobots: ignore")
    clock = ticking_clock()
    writer = RotatingWarcWriter(archive.spool, info, prefix="haiphong", clock=lambda: next(clock))
    with pytest.raises(ValueError, match="operator.*line break"):
        writer.write(exchange_records(make_exchange()))
    assert list(archive.spool.iterdir()) == []
