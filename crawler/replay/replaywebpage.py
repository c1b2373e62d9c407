"""ReplayWeb.page over a local archive's WACZ files, offline: a small HTTP server on loopback.

ReplayWeb.page is a static web app (its `ui.js` and the service worker `sw.js`, from the npm
package scripts/setup unpacks in `.replaywebpage/`). It loads a WACZ by URL and reads it with
byte-range requests, so this server serves the app's three files and `wacz/<crawl_id>.wacz`
of the archive root, with `Range` support. Service workers need a secure context, which
http://127.0.0.1 is.
"""

from __future__ import annotations

import re
import shutil
import threading
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from crawler.layout import WACZ_SUFFIX

DEFAULT_APP_DIR = Path(__file__).resolve().parents[2] / ".replaywebpage" / "package"
APP_FILES = ("index.html", "ui.js", "sw.js")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class ReplayWebPageNotInstalled(RuntimeError):
    """The app's files are missing (scripts/setup installs them where npm is available)."""


class ReplayWebPageServer:
    """Serves ReplayWeb.page and an archive root's WACZ files until `close()`."""

    def __init__(self, archive_root: Path, *, host: str, port: int, app_dir: Path):
        missing = [name for name in APP_FILES if not (app_dir / name).is_file()]
        if missing:
            raise ReplayWebPageNotInstalled(
                f"ReplayWeb.page is not installed ({app_dir} lacks {', '.join(missing)}): "
                "run scripts/setup on a machine with npm"
            )
        self.wacz_dir = Path(archive_root) / "wacz"
        handler = partial(_Handler, app_dir=app_dir, wacz_dir=self.wacz_dir)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="replaywebpage", daemon=True
        )
        self._thread.start()
        self.base_url = f"http://{host}:{self._server.server_port}/"

    @property
    def crawl_ids(self) -> list[str]:
        """The crawls with a WACZ, by name."""
        return sorted(
            p.name.removesuffix(WACZ_SUFFIX) for p in self.wacz_dir.glob(f"*{WACZ_SUFFIX}")
        )

    def pages_url(self, crawl_id: str) -> str:
        """ReplayWeb.page's list of the crawl's pages (its WACZ `pages/pages.jsonl`)."""
        return f"{self._app_url(crawl_id)}#view=pages"

    def replay_url(self, crawl_id: str, url: str) -> str:
        """ReplayWeb.page replaying `url` from the crawl's WACZ."""
        return f"{self._app_url(crawl_id)}#view=replay&url={quote(url, safe='')}"

    def _app_url(self, crawl_id: str) -> str:
        source = f"{self.base_url}wacz/{quote(crawl_id)}{WACZ_SUFFIX}"
        return f"{self.base_url}?source={quote(source, safe='')}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> ReplayWebPageServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def serve_replaywebpage(
    archive_root: Path, *, host: str = "127.0.0.1", port: int = 0, app_dir: Path = DEFAULT_APP_DIR
) -> ReplayWebPageServer:
    """Start serving; `port=0` picks a free port. Raises ReplayWebPageNotInstalled."""
    return ReplayWebPageServer(archive_root, host=host, port=port, app_dir=app_dir)


class _Handler(SimpleHTTPRequestHandler):
    """The app's files at /, the WACZ files at /wacz/<name>.wacz; nothing else."""

    def __init__(self, *args, app_dir: Path, wacz_dir: Path, **kwargs):
        self.app_dir = app_dir
        self.wacz_dir = wacz_dir
        super().__init__(*args, directory=str(app_dir), **kwargs)

    def send_head(self):
        path = unquote(urlsplit(self.path).path)
        if path in ("/", "/index.html"):
            return self._send_file(self.app_dir / "index.html")
        if path.lstrip("/") in APP_FILES:
            return self._send_file(self.app_dir / path.lstrip("/"))
        name = path.removeprefix("/wacz/")
        if name != path and "/" not in name and name.endswith(WACZ_SUFFIX):
            return self._send_file(self.wacz_dir / name)
        self.send_error(HTTPStatus.NOT_FOUND)
        return None

    def _send_file(self, path: Path):
        if not path.is_file():
            self.send_error(HTTPStatus.NOT_FOUND)
            return None
        size = path.stat().st_size
        start, end = 0, size - 1
        requested = self.headers.get("Range")
        status = HTTPStatus.OK
        if requested:
            match = _RANGE.match(requested.strip())
            if match is None or not (match[1] or match[2]):
                self.send_error(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                return None
            if match[1]:
                start = int(match[1])
                end = min(int(match[2]), size - 1) if match[2] else size - 1
            else:  # the last N bytes
                start = max(size - int(match[2]), 0)
            if start >= size or start > end:
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.end_headers()
                return None
            status = HTTPStatus.PARTIAL_CONTENT
        file = open(path, "rb")
        file.seek(start)
        self.send_response(status)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        if status == HTTPStatus.PARTIAL_CONTENT:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        self._length = end - start + 1
        return file

    def copyfile(self, source, outputfile) -> None:
        shutil.copyfileobj(_Limited(source, self._length), outputfile)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        pass  # a browser's many range requests would flood the command's output


class _Limited:
    """The first `length` bytes of a file, read in pieces."""

    def __init__(self, file, length: int):
        self._file = file
        self._left = length

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        data = self._file.read(self._left if size < 0 else min(size, self._left))
        self._left -= len(data)
        return data
