"""What the fixture portal wrote on the wire for each request, to compare with what the
archive stored: the status, the headers and the body as sent (still content-encoded when
it went gzipped; de-chunked when it went chunked, as the archive stores it).

``ServedLog().tap(portal)`` before the crawl: every request the portal answers itself goes
through the tap, which serves it as usual and keeps a copy of the bytes written. A fault
injected later answers instead (tests/faults.py); one that lets the request through to the
portal's own answer is not seen by the tap.
"""

from __future__ import annotations

import gzip
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord


@dataclass(frozen=True)
class Served:
    """One answer as the portal wrote it."""

    method: str
    target: str  # path and query, as requested
    status: int
    headers: list[tuple[str, str]]
    body: bytes  # as sent, de-chunked

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return ", ".join(values) if values else None

    @property
    def decoded(self) -> bytes:
        """The body with its content coding undone (what a browser hands over)."""
        coding = (self.header("Content-Encoding") or "identity").strip().lower()
        if coding == "identity":
            return self.body
        if coding == "gzip":
            return gzip.decompress(self.body)
        raise ValueError(f"{self.target}: unexpected Content-Encoding {coding!r}")


class ServedLog:
    """Every answer the tapped portal wrote, in the order they were finished."""

    def __init__(self) -> None:
        self.answers: list[Served] = []
        self._lock = threading.Lock()

    def tap(self, portal) -> None:
        """Record what ``portal`` writes from now on. Tap before injecting any fault."""
        portal.inject(lambda target: True, self._serve)

    def since(self, start: int) -> list[Served]:
        """The answers from the ``start``-th on (``len(log.answers)`` taken before a crawl)."""
        with self._lock:
            return self.answers[start:]

    def _serve(self, handler) -> None:
        wire = _Copying(handler.wfile)
        handler.wfile = wire
        try:
            handler.server.portal.serve_normally(handler)
        finally:
            handler.wfile = wire.stream
        answer = parse_answer(handler.command, handler.path, bytes(wire.copy))
        with self._lock:
            self.answers.append(answer)


def assert_stored_as_sent(responses: Iterable[ArcWarcRecord], answers: list[Served]) -> Counter:
    """Each response record (read with warcio) holds, byte for byte, the body of one answer
    sent for its URI: as sent (still gzipped if it went so, de-chunked) when the crawl
    fetched it, content-decoded when a browser did (`X-Orig-Content-Encoding` naming the
    coding that was sent); and every answer is archived once. Returns how many bodies were
    stored each way ("gzip", "identity", "decoded"; "chunked" also counted)."""
    unmatched: dict[str, list[Served]] = {}
    for answer in answers:
        unmatched.setdefault(answer.target, []).append(answer)
    kinds: Counter = Counter()
    for record in responses:
        parts = urlsplit(record.rec_headers.get_header("WARC-Target-URI"))
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        http, payload = record.http_headers, record.raw_stream.read()
        decoded_from = http.get_header("X-Orig-Content-Encoding")
        sent = next(
            (
                answer
                for answer in unmatched.get(target, [])
                if answer.status == int(http.get_statuscode())
                and (answer.decoded if decoded_from else answer.body) == payload
            ),
            None,
        )
        assert sent is not None, f"{target}: the stored body ({len(payload)} bytes) was not sent"
        unmatched[target].remove(sent)
        coding = sent.header("Content-Encoding")
        if decoded_from:
            assert (decoded_from, http.get_header("Content-Encoding")) == (coding, None), target
        else:
            assert http.get_header("Content-Encoding") == coding, target
        kinds["decoded" if decoded_from else coding or "identity"] += 1
        kinds["chunked"] += sent.header("Transfer-Encoding") == "chunked"
    left = sorted(target for target, answers in unmatched.items() for _ in answers)
    assert not left, f"sent, not archived: {left}"
    return kinds


def response_records(files: Iterable) -> Iterator[ArcWarcRecord]:
    """The response records of WARC files (paths or binary streams), read in turn."""
    for file in files:
        with open(file, "rb") if isinstance(file, str | Path) else file as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "response":
                    yield record


class _Copying:
    """A handler's output stream that keeps a copy of what goes through it."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.copy = bytearray()

    def write(self, data: bytes) -> int:
        self.copy += data
        return self.stream.write(data)

    def flush(self) -> None:
        self.stream.flush()


def parse_answer(method: str, target: str, wire: bytes) -> Served:
    """An HTTP/1.1 answer as written: status line, headers, then the body (de-chunked)."""
    head, separator, rest = wire.partition(b"\r\n\r\n")
    assert separator, f"{target}: no end of the head in what was written"
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines:
        name, _, value = line.partition(":")
        headers.append((name, value.strip()))
    answer = Served(method, target, int(status_line.split(" ", 2)[1]), headers, b"")
    if method == "HEAD":
        return answer
    chunked = "chunked" in (answer.header("Transfer-Encoding") or "").lower()
    body = _dechunk(rest, target) if chunked else rest
    length = answer.header("Content-Length")
    assert chunked or length is None or int(length) == len(body), target
    return Served(method, target, answer.status, headers, body)


def _dechunk(data: bytes, target: str) -> bytes:
    body = bytearray()
    while True:
        size_line, separator, data = data.partition(b"\r\n")
        assert separator, f"{target}: a chunk size line does not end"
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return bytes(body)
        body += data[:size]
        assert data[size : size + 2] == b"\r\n", f"{target}: a chunk does not end with CRLF"
        data = data[size + 2 :]
