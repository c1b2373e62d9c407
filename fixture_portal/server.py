"""FixturePortal: the site served over HTTP/1.1 on 127.0.0.1, in a background thread.

Keep-alive connections are tracked so that stop() can close them: handler threads are
then joined, and no thread outlives the portal.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from . import transport
from .model import THEMES, Site
from .pages import Response, Router

logger = logging.getLogger(__name__)


# A hostile answer: writes the whole response (or none) on the handler's socket.
Fault = Callable[[BaseHTTPRequestHandler], None]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # an idle keep-alive connection is dropped after this many seconds
    # Headers and body are separate writes; with Nagle on, the client's delayed ACK
    # would stall every keep-alive response by ~40 ms.
    disable_nagle_algorithm = True
    server: _Server

    def version_string(self) -> str:
        return "nginx"

    def parse_request(self) -> bool:
        # Logged here so that every well-formed request counts, whatever its method.
        parsed = super().parse_request()
        if parsed:
            self.server.portal._record(self.command, self.path, dict(self.headers.items()))
        return parsed

    def do_GET(self) -> None:
        self._timed_serve(send_body=True)

    def do_HEAD(self) -> None:
        self._timed_serve(send_body=False)

    def _timed_serve(self, send_body: bool) -> None:
        started = time.monotonic()
        try:
            self._serve(send_body)
        finally:
            self.server.portal.request_spans.append((started, time.monotonic()))

    def log_message(self, format: str, *args) -> None:
        logger.debug("%s - " + format, self.address_string(), *args)

    def _serve(self, send_body: bool) -> None:
        fault = self.server.portal.fault_for(self.path)
        if fault is not None:
            # A test's hostile answer instead of the portal's (tests/faults.py).
            fault(self)
            return
        self.serve_portal(send_body)

    def serve_portal(self, send_body: bool) -> None:
        """The portal's own answer to this request."""
        response = self.server.portal.router.resolve(self.path)
        if self._not_modified(response):
            self.send_response(304)
            self._validators(response)
            self.end_headers()
            return
        path = urlsplit(self.path).path
        body = response.body
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        if transport.compressible(response.content_type):
            self.send_header("Vary", "Accept-Encoding")
            if (
                body
                and not transport.gzip_exempt(path)
                and transport.accepts_gzip(self.headers.get("Accept-Encoding"))
            ):
                body = response.gzipped
                self.send_header("Content-Encoding", "gzip")
        for name, value in response.headers:
            self.send_header(name, value)
        self._validators(response)
        chunked = (
            send_body and body and self.request_version == "HTTP/1.1" and transport.is_chunked(path)
        )
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not send_body:
            return
        if chunked:
            for frame in transport.chunk_frames(body):
                self.wfile.write(frame)
        else:
            self.wfile.write(body)

    def _validators(self, response: Response) -> None:
        if response.etag:
            self.send_header("ETag", response.etag)
        if response.last_modified:
            self.send_header(
                "Last-Modified",
                format_datetime(response.last_modified.astimezone(UTC), usegmt=True),
            )

    def _not_modified(self, response: Response) -> bool:
        """Conditional GET, for incremental crawls: If-None-Match, else If-Modified-Since."""
        if response.status != 200:
            return False
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match and response.etag:
            tags = {tag.strip() for tag in if_none_match.split(",")}
            return "*" in tags or response.etag in tags
        since = self.headers.get("If-Modified-Since")
        if since and response.last_modified:
            try:
                when = parsedate_to_datetime(since)
            except (TypeError, ValueError):
                return False  # RFC 9110: an invalid date is ignored
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return response.last_modified <= when
        return False


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the handler threads
    block_on_close = True

    def __init__(self, address: tuple[str, int], portal: FixturePortal):
        self.portal = portal
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request, client_address) -> None:
        # Tracked in the accepting thread, so stop() cannot miss a just-accepted connection.
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake handler threads waiting on idle keep-alive connections."""
        with self._connections_lock:
            connections = list(self._connections)
        for sock in connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError as exc:  # the peer closed it already
                logger.debug("closing a client connection: %s", exc)

    def handle_error(self, request, client_address) -> None:
        # A client going away mid-response (or stop() cutting it) is not a server bug.
        logger.debug("connection from %s failed", client_address, exc_info=True)


class FixturePortal:
    """The fixture site served on 127.0.0.1 (ephemeral port by default) until stop()."""

    def __init__(self, site: Site, theme: str = "classic", host: str = "127.0.0.1", port: int = 0):
        if theme not in THEMES:
            raise ValueError(f"unknown theme {theme!r}; expected one of {THEMES}")
        self.site = site
        self.theme = theme
        # (method, path with query, headers) of every request, in arrival order. Appends
        # are atomic; read it with list(portal.request_log) for a consistent snapshot.
        self.request_log: list[tuple[str, str, dict[str, str]]] = []
        # (arrived, answered) monotonic times of every GET and HEAD answered (or cut off): the
        # rate and the concurrency the portal saw, for tests of politeness.
        self.request_spans: list[tuple[float, float]] = []
        self._server = _Server((host, port), self)
        self.host, self.port = self._server.server_address[:2]
        self.base_url = f"http://{self.host}:{self.port}/"
        self.router = Router(site, theme, self.base_url)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fixture-portal-{self.port}",
            daemon=True,
        )
        # (does the request target match, fault) pairs, the first match answers: a test
        # turns the portal hostile for some URLs (tests/faults.py).
        self._faults: list[tuple[Callable[[str], bool], Fault]] = []
        # Set when the portal stops: a fault that holds a connection open waits on it.
        self.stopping = threading.Event()
        self._stopped = False
        self._thread.start()
        logger.info("fixture portal (%s theme) serving at %s", theme, self.base_url)

    def replace_site(self, site: Site) -> None:
        """Serve ``site`` from now on, at the same base URL (e.g. ``evolve_site(portal.site)``,
        for an incremental crawl). Requests already being answered finish with the old one."""
        self.router = Router(site, self.theme, self.base_url)
        self.site = site
        logger.info("fixture portal at %s now serves a new state of the site", self.base_url)

    def inject(self, match: Callable[[str], bool] | str, fault: Fault) -> None:
        """Answer requests whose target (path with query) ``match`` accepts (or that equal
        ``match``, a string) with ``fault(handler)`` instead of the portal's response. The
        fault writes the whole answer on ``handler.wfile`` itself. Faults injected later win."""
        if isinstance(match, str):
            target = match
            match = target.__eq__
        self._faults.insert(0, (match, fault))

    def clear_faults(self) -> None:
        """Serve the portal as it is again."""
        self._faults = []

    def serve_normally(self, handler) -> None:
        """Answer a request a fault let through with the portal's own response."""
        handler.serve_portal(send_body=handler.command != "HEAD")

    def fault_for(self, target: str) -> Fault | None:
        for match, fault in list(self._faults):
            if match(target):
                return fault
        return None

    def _record(self, method: str, target: str, headers: dict[str, str]) -> None:
        self.request_log.append((method, target, headers))

    def stop(self) -> None:
        """Stop accepting, close open connections, join every thread. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self.stopping.set()
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> FixturePortal:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
