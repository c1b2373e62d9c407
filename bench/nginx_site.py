"""The generated fixture portal written to files and served by Debian's nginx.

    with NginxSite(build_site(seed=7, n_articles=2000), theme="classic") as site:
        crawl(site.base_url)

A benchmark needs a server that costs the machine little: the Python fixture server
(fixture_portal.FixturePortal) shares the two cores with the crawler. Here every URL a full
crawl fetches is rendered once by the fixture's own router (``Router.resolve``), so bodies,
statuses, Content-Type and the portal's extra headers (Set-Cookie, Link, ETag, redirects'
Location, X-WP-TotalPages, Cache-Control) are the fixture server's; nginx only serves them.

How nginx maps a request to what was rendered (``$request_uri``, query string included):
- ``map $request_uri $file``: a 200 answer is a file ``/_f/<n>.<ext>``, the extension names
  its Content-Type (a generated ``types`` block); Last-Modified is the file's mtime, set to the
  portal's Last-Modified where it sends one;
- ``map $request_uri $redirect``: a 3xx answer is ``return 301 <Location>``;
- ``map $request_uri $error``: any other status goes through ``error_page`` to its rendered
  body under ``/_status/``; a URL not rendered is the portal's 404 page.

What nginx does differently from the fixture server, as a real server would: it gzips every
text answer a client accepts gzip for (the fixture leaves one in six plain) and never sends
a chunked body uncompressed; a 301 has nginx's small HTML body; no 304 answers (the bench
crawls are full crawls). The endless URL spaces are cut: the trap section's listing pages
up to ``TRAP_PAGES``, calendar days within ``CALENDAR_DAYS`` of the site's date.

Run alone to serve a site until interrupted:

    .venv/bin/python bench/nginx_site.py --articles 2000 [--article-kib 62]
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fixture_portal import Site  # noqa: E402
from fixture_portal.htmlutil import FANPAGE_QR, LOGO  # noqa: E402
from fixture_portal.model import SCRIPTED_SECTION, TRAP_SECTION  # noqa: E402
from fixture_portal.pages import Router  # noqa: E402
from fixture_portal.scripted import category_id, listing_api, related_api  # noqa: E402
from fixture_portal.transport import compressible  # noqa: E402

logger = logging.getLogger(__name__)

NGINX = "/usr/sbin/nginx"
TRAP_PAGES = 30  # the crawl stops a trap after PORTAL_MAX_STALE_LISTING_PAGES (5) pages
CALENDAR_DAYS = 30
API_PAGES = 50  # pages of the scripted section's "Xem thêm" REST query rendered
# Headers of the portal's answers that nginx adds from a map, by name; repeated ones (two
# Set-Cookie, two Link) get one variable per occurrence.
EXTRA_HEADERS = (
    ("Set-Cookie", 2),
    ("Link", 2),
    ("ETag", 1),
    ("X-WP-TotalPages", 1),
    ("Cache-Control", 1),
    ("X-Redirect-By", 1),
)
GZIP_TYPES = (
    "text/plain text/css text/xml application/xml application/rss+xml "
    "application/javascript application/json"
)
STARTUP_SECONDS = 10


def crawl_targets(site: Site) -> list[str]:
    """Every request target (path with query) a full crawl of ``site`` may ask for: the home
    page, robots.txt, sitemaps and feed, every listing page of every section, every post
    (and its AMP page, its ``/?p=`` shortlink), aliases and the hard cases, images, the
    scripts and styles, the REST queries the scripted section's pages make."""
    targets = ["/", "/robots.txt", "/wp-sitemap.xml", "/wp-sitemap-posts-page-1.xml"]
    targets += ["/wp-sitemap-taxonomies-category-1.xml", "/feed/", "/lien-he/", "/noi-bo/"]
    targets += [f"/wp-sitemap-posts-post-{n}.xml" for n in range(1, 2 + len(site.articles) // 2000)]
    for section in site.sections:
        last = TRAP_PAGES if section.slug == TRAP_SECTION else site.listing_pages(section.slug)
        targets.append(f"/{section.path}")
        targets += [f"/{section.path}page/{n}/" for n in range(2, last + 1)]
    slugs = [a.slug for a in site.articles]
    slugs += list(site.alias_slugs) + list(site.loop_slugs) + [site.error_slug]
    for slug in slugs:
        targets += [f"/{slug}.html", f"/{slug}.html/amp"]
    for a in site.articles:
        targets.append(f"/?p={a.id}")
        targets += [f"/{img.path}" for img in a.images]
        if a.listing_target:
            targets.append("/" + a.listing_target.split("#", 1)[0])
        targets += ["/" + link.target.split("#", 1)[0] for link in a.related if not link.offsite]
        if site.is_scripted(a):
            targets.append(f"/{related_api(a)}")
    targets += [f"/{LOGO}", f"/{FANPAGE_QR}"]
    scripted = site.section(SCRIPTED_SECTION)
    if scripted is not None:
        category_id(site, SCRIPTED_SECTION)  # fails early if the fixture changed
        targets += [f"/{listing_api(site, scripted, n)}" for n in range(1, API_PAGES + 1)]
    today = site.now.date()
    for offset in range(-CALENDAR_DAYS, CALENDAR_DAYS + 1):
        targets.append(f"/lich/?ngay={(today + timedelta(days=offset)).isoformat()}")
    targets.append("/lich/")
    return list(dict.fromkeys(targets))


def _fixed_paths(router: Router) -> list[str]:
    return list(router._fixed)  # the scripts, styles and fixed pages the router knows


def _quote(value: str) -> str:
    """A value as an nginx config string: quoted, with quotes, backslashes and ``$``
    (a variable there) escaped; ``$`` never occurs in what the portal sends."""
    if "$" in value:
        raise ValueError(f"cannot serve a value with '$' through nginx: {value!r}")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Config:
    """The nginx maps and types, filled while the answers are written to files."""

    def __init__(self):
        self.types: dict[str, str] = {}  # Content-Type -> file extension
        self.files: dict[str, str] = {}
        self.redirects: dict[str, str] = {}
        self.errors: dict[str, tuple[int, str]] = {}
        self.headers: dict[str, dict[str, str]] = {
            f"{name}#{n}": {} for name, count in EXTRA_HEADERS for n in range(count)
        }

    def extension(self, content_type: str) -> str:
        return self.types.setdefault(content_type, f"t{len(self.types)}")

    def add_headers(self, target: str, headers: Iterable[tuple[str, str]]) -> None:
        seen: dict[str, int] = {}
        for name, value in headers:
            n = seen.get(name, 0)
            seen[name] = n + 1
            key = f"{name}#{n}"
            if key not in self.headers:
                raise ValueError(f"nginx_site does not serve a header {name!r} (n={n})")
            self.headers[key][target] = value

    @staticmethod
    def variable(key: str) -> str:
        name, n = key.split("#")
        return "$h_" + name.lower().replace("-", "_") + n


def write_site(
    site: Site, root: Path, base_url: str, theme: str = "classic", extra: Iterable[str] = ()
) -> _Config:
    """Render every target of ``crawl_targets(site)`` (and ``extra``) into ``root`` for
    ``base_url``; returns what the nginx config needs."""
    router = Router(site, theme, base_url)
    config = _Config()
    (root / "_f").mkdir(parents=True)
    (root / "_status").mkdir()
    targets = crawl_targets(site) + _fixed_paths(router) + list(extra)
    not_found = router.resolve("/_not_a_portal_page_")
    config.errors[""] = (404, _write(root, "_status", "404", not_found, config))
    for n, target in enumerate(dict.fromkeys(targets)):
        response = router.resolve(target)
        if response is not_found:
            continue  # nginx's default answer
        headers = [(k, v) for k, v in response.headers if k != "Location"]
        if response.etag:
            headers.append(("ETag", response.etag))
        config.add_headers(target, headers)
        if 300 <= response.status < 400:
            config.redirects[target] = dict(response.headers)["Location"]
        elif response.status == 200:
            config.files[target] = _write(root, "_f", str(n), response, config)
        else:
            config.errors[target] = (
                response.status,
                _write(root, "_status", str(n), response, config),
            )
    return config


def _write(root: Path, folder: str, name: str, response, config: _Config) -> str:
    uri = f"/{folder}/{name}.{config.extension(response.content_type)}"
    path = root / uri.lstrip("/")
    path.write_bytes(response.body)
    if response.last_modified is not None:
        stamp = response.last_modified.timestamp()
        os.utime(path, (stamp, stamp))
    return uri


def _map(variable: str, entries: dict[str, str], default: str = '""') -> str:
    lines = [f"map $request_uri {variable} {{", f"    default {default};"]
    lines += [f"    {_quote(key)} {_quote(value)};" for key, value in entries.items()]
    return "\n".join(lines) + "\n}\n"


def nginx_conf(config: _Config, workdir: Path, root: Path, port: int, access_log: bool) -> str:
    statuses = sorted({status for status, _uri in config.errors.values()})
    error_uris = {target: uri for target, (_status, uri) in config.errors.items() if target}
    codes = {target: str(status) for target, (status, _uri) in config.errors.items() if target}
    # gzip_types compares the whole Content-Type, parameters included.
    gzip_types = " ".join(_quote(ctype) for ctype in config.types if compressible(ctype))
    types = "\n".join(f"        {_quote(ctype)} {ext};" for ctype, ext in config.types.items())
    header_maps = "".join(
        _map(config.variable(key), entries) for key, entries in config.headers.items()
    )
    add_headers = "".join(
        f"            add_header {key.split('#')[0]} {config.variable(key)};\n"
        for key in config.headers
    )
    returns = "".join(
        f"            if ($error_status = {status}) {{ return {status}; }}\n" for status in statuses
    )
    temp = workdir / "temp"
    access = f"access_log {workdir / 'access.log'};" if access_log else "access_log off;"
    # Started by root, nginx would run its workers as "nobody", who may not read a private
    # temporary directory: they run as the user who started it.
    user = "user root;" if os.geteuid() == 0 else ""
    return f"""
{user}
daemon off;
master_process on;
worker_processes 1;
pid {workdir / "nginx.pid"};
error_log {workdir / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
    {access}
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 100000;
    server_tokens off;
    etag off;
    if_modified_since off;
    types {{
{types}
    }}
    default_type application/octet-stream;
    gzip on;
    gzip_comp_level 6;
    gzip_min_length 1;
    gzip_vary on;
    gzip_proxied any;
    gzip_types {GZIP_TYPES} {gzip_types};
    map_hash_max_size 1048576;
    map_hash_bucket_size 512;
{_map("$file", config.files)}
{_map("$redirect", config.redirects)}
{_map("$error_status", codes)}
{_map("$error_page", error_uris, _quote(config.errors[""][1]))}
{header_maps}
    server {{
        listen 127.0.0.1:{port};
        server_name _;
        root {root};
        error_page {" ".join(map(str, statuses))} $error_page;
        location /_f/ {{ internal; }}
        location /_status/ {{ internal; }}
        location / {{
            if ($redirect) {{ return 301 $redirect; }}
{returns}{add_headers}            try_files $file =404;
        }}
    }}
}}
"""


def _die_with_parent() -> None:
    """In the child before nginx starts: SIGTERM to it when the bench dies (a killed bench
    must not leave nginx serving; Linux's PR_SET_PDEATHSIG, elsewhere nothing)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class NginxSite:
    """``site`` rendered into a temporary directory and served by nginx on a free loopback
    port until stop(). ``base_url`` is known once started."""

    def __init__(
        self,
        site: Site,
        theme: str = "classic",
        workdir: Path | None = None,
        extra_targets: Iterable[str] = (),
        access_log: bool = False,
    ):
        self.site = site
        self.theme = theme
        self._extra = list(extra_targets)
        self._access_log = access_log
        self._own_dir = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="nginx-site-")) if workdir is None else workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.base_url = ""

    @property
    def access_log(self) -> Path:
        return self.workdir / "access.log"

    def start(self) -> NginxSite:
        for _attempt in range(3):  # another program may take the free port first
            self.port = free_port()
            self.base_url = f"http://127.0.0.1:{self.port}/"
            root = self.workdir / "site"
            shutil.rmtree(root, ignore_errors=True)
            config = write_site(self.site, root, self.base_url, self.theme, self._extra)
            for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
                (self.workdir / "temp" / name).mkdir(parents=True, exist_ok=True)
            conf = self.workdir / "nginx.conf"
            conf.write_text(
                nginx_conf(config, self.workdir, root, self.port, self._access_log), "utf-8"
            )
            self.process = subprocess.Popen(
                [
                    NGINX,
                    "-c",
                    str(conf),
                    "-p",
                    str(self.workdir),
                    "-e",
                    str(self.workdir / "error.log"),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                preexec_fn=_die_with_parent,
            )
            if self._wait_listening():
                logger.info("nginx serves the fixture portal at %s", self.base_url)
                return self
            self.stop()
        raise RuntimeError(f"nginx did not start; see {self.workdir / 'error.log'}")

    def _wait_listening(self) -> bool:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                time.sleep(0.05)  # polling a port nginx is opening, bounded by the deadline
        return False

    def stop(self) -> None:
        """Stop nginx (SIGQUIT: graceful) and wait for it. Idempotent."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def cleanup(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> NginxSite:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.cleanup()


def main() -> None:
    from fixture_portal import build_site

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--theme", default="classic", choices=("classic", "alt"))
    parser.add_argument(
        "--article-kib", type=float, help="article pages of about this size (default: about 18)"
    )
    args = parser.parse_args()
    site = build_site(seed=args.seed, n_articles=args.articles, article_kib=args.article_kib)
    with NginxSite(site, args.theme) as served:
        print(f"serving {args.articles} articles at {served.base_url} (Ctrl-C stops)", flush=True)
        try:
            served.process.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
