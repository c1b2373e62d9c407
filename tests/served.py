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
from dataclasses import dataclass


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

    def by_target(self) -> dict[str, list[Served]]:
        found: dict[str, list[Served]] = {}
        with self._lock:
            for answer in self.answers:
                found.setdefault(answer.target, []).append(answer)
        return found

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
