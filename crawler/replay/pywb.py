"""pywb over the archive: one collection per crawl, served by `wayback` as a subprocess.

pywb lives in its own virtual environment (`.venv-pywb/`, made by `scripts/setup`) because its
pins clash with the crawler's; this module runs in the crawler's environment and only starts
that environment's `wayback`. The collections read the archive where it lies — WARCs from
`warcs/<crawl_id>/`, CDXJ indexes from `indexes/<crawl_id>/` — nothing is copied. pywb's
working directory (its `config.yaml` and log) is a temporary directory removed on stop.

An archive in S3 (an ``S3Store``): pywb reads the WARCs from S3 itself (``s3://`` archive
paths, through boto3 in its environment, given the store's endpoint and credentials in its
environment, never on its command line); the CDXJ indexes are copied into pywb's working
directory when it starts (pywb's index stays local), so later crawls need a restart.

Replay URLs: `<base>/<crawl_id>/<timestamp>/<url>` (framed, with pywb's banner),
`<base>/<crawl_id>/<timestamp>mp_/<url>` (the page alone); an empty timestamp means the latest
capture, a partial one (`2026`) the capture closest to it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from crawler.archive.lookup import IndexedCapture, index_lines
from crawler.layout import CDXJ_SUFFIX, INDEXES, WARCS, crawls_with_warcs, index_keys_by_crawl
from crawler.storage import S3Store

logger = logging.getLogger(__name__)

# The repository root, where scripts/setup makes the pywb environment.
DEFAULT_PYWB_VENV = Path(__file__).resolve().parents[2] / ".venv-pywb"
DEFAULT_HOST = "127.0.0.1"
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
# A crawl id becomes a collection name, a path segment of every replay URL.
_COLLECTION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# Paths pywb itself answers under; a collection of that name would be shadowed.
_RESERVED_NAMES = frozenset({"static", "_", "proxy-fetch", "all"})
# The collection over every crawl: a revisit record of one crawl finds the response it
# refers to in an earlier crawl's WARCs there.
ALL_CRAWLS = "all"
# When pywb is started on a port it chose itself, a lost race for that port is retried.
_PORT_ATTEMPTS = 3
_LOG_TAIL = 2000


class PywbNotInstalled(RuntimeError):
    """The pywb environment is missing: `scripts/setup` makes it."""


class PywbStartError(RuntimeError):
    """`wayback` exited or did not answer before its deadline."""


@dataclass(frozen=True)
class Collection:
    """One crawl as a pywb collection: its WARC directory and its CDXJ index directory."""

    name: str
    archive_dir: Path | str  # a directory, or an s3://bucket/prefix/warcs/<crawl_id>/ URL
    index_dir: Path


def wayback_executable(pywb_venv: Path = DEFAULT_PYWB_VENV) -> Path:
    """The `wayback` program of the pywb environment, or PywbNotInstalled saying what to do."""
    wayback = pywb_venv / "bin" / "wayback"
    if not os.access(wayback, os.X_OK):
        raise PywbNotInstalled(
            f"pywb is not installed: {wayback} is missing; run scripts/setup, which makes the "
            f"pywb environment {pywb_venv} from requirements-pywb.lock"
        )
    return wayback


def archive_collections(
    archive_root: Path, crawl_ids: Sequence[str] | None = None
) -> list[Collection]:
    """The crawls of `archive_root` that have both WARCs and indexes, as collections.

    With `crawl_ids`, exactly those crawls (in that order), and a ValueError naming what is
    missing if one of them has no `warcs/<id>/` or `indexes/<id>/` directory.
    """
    warcs, indexes = archive_root / WARCS, archive_root / INDEXES
    if crawl_ids is None:
        names = sorted(
            path.name
            for path in (warcs.iterdir() if warcs.is_dir() else ())
            if path.is_dir() and (indexes / path.name).is_dir()
        )
    else:
        names = list(crawl_ids)
        for name in names:
            for directory in (warcs / name, indexes / name):
                if not directory.is_dir():
                    raise ValueError(f"crawl {name!r}: no directory {directory}")
    collections = []
    for name in names:
        _check_collection_name(name)
        collections.append(Collection(name, warcs / name, indexes / name))
    return collections


def _check_collection_name(name: str) -> None:
    if not _COLLECTION_NAME.fullmatch(name) or name in _RESERVED_NAMES:
        raise ValueError(
            f"crawl id {name!r} cannot name a pywb collection "
            f"(expected {_COLLECTION_NAME.pattern}, not one of {sorted(_RESERVED_NAMES)})"
        )


def pywb_config(collections: Sequence[Collection], all_index_dir: Path | None = None) -> dict:
    """pywb's `config.yaml` content: every collection reads its directories in place; with
    `all_index_dir` (every crawl's CDXJ files, linked in one directory), an `all` collection
    reads every crawl."""

    def archive_path(coll: Collection) -> str:
        # CDXJ `filename` fields are WARC base names, resolved under this prefix.
        if isinstance(coll.archive_dir, str):
            return coll.archive_dir
        return f"{coll.archive_dir.resolve()}/"

    config: dict = {
        coll.name: {
            # pywb reads every .cdxj file of an index directory, listing it per request.
            "index_paths": f"{coll.index_dir.resolve()}/",
            "archive_paths": archive_path(coll),
        }
        for coll in collections
    }
    if all_index_dir is not None:
        config[ALL_CRAWLS] = {
            "index_paths": f"{all_index_dir.resolve()}/",
            "archive_paths": [archive_path(coll) for coll in collections],
        }
    return {"collections": config}


def link_all_indexes(collections: Sequence[Collection], directory: Path) -> Path:
    """Every crawl's CDXJ files, linked side by side in `directory` as `<crawl>.<name>`."""
    directory.mkdir(parents=True, exist_ok=True)
    for coll in collections:
        for index in sorted(coll.index_dir.glob(f"*{CDXJ_SUFFIX}")):
            (directory / f"{coll.name}.{index.name}").symlink_to(index.resolve())
    return directory


def first_capture(collection: Collection) -> IndexedCapture | None:
    """The first HTML page with status 200 in a collection's indexes, if any."""
    for index in sorted(collection.index_dir.glob(f"*{CDXJ_SUFFIX}")):
        for capture in index_lines(index, collection.name):
            if capture.status == 200 and capture.mime == "text/html":
                return capture
    return None


class PywbServer:
    """A running `wayback`; `stop()` (or leaving the `with` block) always ends it."""

    def __init__(
        self,
        process: subprocess.Popen,
        base_url: str,
        workdir: Path,
        collections: Sequence[Collection],
    ):
        self.process = process
        self.base_url = base_url
        self.workdir = workdir
        self.collections = list(collections)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def log_path(self) -> Path:
        return self.workdir / "wayback.log"

    def log_tail(self) -> str:
        """The end of pywb's log (its start-up messages and access log)."""
        return _log_tail(self.log_path)

    def collection_url(self, collection: str) -> str:
        """pywb's page of a collection: a search form over its captures."""
        return f"{self.base_url}/{collection}/"

    def replay_url(self, collection: str, url: str, timestamp: str = "", modifier: str = "") -> str:
        """Where pywb replays `url`: framed with its banner, or the page alone with `mp_`.

        An empty timestamp asks for the latest capture; a partial one for the closest capture.
        """
        stamp = f"{timestamp}{modifier}"
        return f"{self.base_url}/{collection}/{stamp + '/' if stamp else ''}{url}"

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Terminate `wayback` (kill it past `timeout`), reap it, remove its working directory."""
        try:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    logger.warning("pywb (pid %d) ignored SIGTERM; killing it", self.pid)
                    self.process.kill()
                    self.process.wait()
            logger.info("pywb (pid %d) stopped", self.pid)
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> PywbServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def s3_collections(
    store: S3Store, workdir: Path, crawl_ids: Sequence[str] | None = None
) -> list[Collection]:
    """The crawls of an S3 archive that have WARCs and indexes, their indexes copied into
    ``workdir/indexes/<crawl_id>/``; WARCs stay in S3 (``s3://`` archive paths)."""
    indexes = index_keys_by_crawl(store.list(f"{INDEXES}/"))
    with_warcs = crawls_with_warcs(store.list(f"{WARCS}/"))
    names = sorted(set(indexes) & with_warcs) if crawl_ids is None else list(crawl_ids)
    collections = []
    for name in names:
        if name not in indexes or name not in with_warcs:
            raise ValueError(f"crawl {name!r}: no warcs/{name}/ and indexes/{name}/ in {store.uri}")
        _check_collection_name(name)
        index_dir = workdir / INDEXES / name
        index_dir.mkdir(parents=True)
        for key in indexes[name]:
            (index_dir / key.split("/")[-1]).write_bytes(store.get_bytes(key))
        collections.append(Collection(name, f"{store.uri}/{WARCS}/{name}/", index_dir))
    return collections


def s3_environment(store: S3Store) -> dict[str, str]:
    """What boto3 in pywb's environment needs to read the store: its standard variables."""
    config = store.config
    env = {
        # As the crawler's client: checksums only where required (S3-compatible servers).
        "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required",
        "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
    }
    if config.access_key_id:
        env["AWS_ACCESS_KEY_ID"] = config.access_key_id
        env["AWS_SECRET_ACCESS_KEY"] = config.secret_access_key or ""
    if config.session_token:
        env["AWS_SESSION_TOKEN"] = config.session_token
    if config.endpoint_url:
        env["AWS_ENDPOINT_URL_S3"] = config.endpoint_url
    if config.region_name:
        env["AWS_DEFAULT_REGION"] = config.region_name
    return env


def start_pywb(
    archive_root: Path | S3Store,
    *,
    crawl_ids: Sequence[str] | None = None,
    host: str = DEFAULT_HOST,
    port: int = 0,
    pywb_venv: Path = DEFAULT_PYWB_VENV,
    startup_timeout: float = STARTUP_TIMEOUT,
) -> PywbServer:
    """Start pywb over the crawls of `archive_root` and return once it answers.

    `archive_root` is a directory or an `S3Store`. `port=0` picks a free port. Raises
    PywbNotInstalled without the pywb environment, ValueError when there is no crawl to
    serve, PywbStartError when `wayback` does not come up.
    """
    wayback = wayback_executable(pywb_venv)
    attempts = 1 if port else _PORT_ATTEMPTS
    for attempt in range(1, attempts + 1):
        workdir = Path(tempfile.mkdtemp(prefix="pywb-"))
        try:
            if isinstance(archive_root, S3Store):
                collections = s3_collections(archive_root, workdir, crawl_ids)
                env = s3_environment(archive_root)
            else:
                collections, env = archive_collections(archive_root, crawl_ids), {}
            if not collections:
                raise ValueError(
                    f"nothing to replay under {archive_root}: no crawl has both "
                    "warcs/<crawl_id>/ and indexes/<crawl_id>/"
                )
            return _start_once(
                wayback, workdir, collections, host, port or _free_port(host), startup_timeout, env
            )
        except PywbStartError as error:
            shutil.rmtree(workdir, ignore_errors=True)
            # Another program may have taken the free port between our look and pywb's bind.
            if attempt == attempts or "Address already in use" not in str(error):
                raise
            logger.warning("pywb lost its port (attempt %d); trying another", attempt)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
    raise AssertionError("unreachable: the last attempt returns or raises")


def _start_once(
    wayback: Path,
    workdir: Path,
    collections: Sequence[Collection],
    host: str,
    port: int,
    startup_timeout: float,
    extra_env: dict[str, str],
) -> PywbServer:
    # JSON is YAML: pywb reads this file with its YAML loader.
    all_indexes = link_all_indexes(collections, workdir / "all-indexes")
    config = pywb_config(collections, all_indexes)
    (workdir / "config.yaml").write_text(json.dumps(config, indent=2))
    log_path = workdir / "wayback.log"
    # The crawler's interpreter settings must not leak into pywb's (its warning filters
    # neither: pywb's dependencies warn on this Python).
    leaks = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONWARNINGS")
    env = {k: v for k, v in os.environ.items() if k not in leaks}
    env.pop("PYWB_CONFIG_FILE", None)
    env.update(extra_env)
    command = [str(wayback), "--bind", host, "--port", str(port), "--directory", str(workdir)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own session: a Ctrl-C in the terminal reaches us, and we stop it in order.
            start_new_session=True,
        )
    server = PywbServer(process, f"http://{_client_host(host)}:{port}", workdir, collections)
    logger.info("Starting pywb (pid %d) on %s: %s", process.pid, server.base_url, command)
    try:
        _wait_until_answering(server, startup_timeout)
    except PywbStartError as error:
        # Stopping removes the working directory with the log; read the log first.
        tail = _log_tail(log_path)
        server.stop()
        raise PywbStartError(f"{error}; its log ends with:\n{tail}") from None
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_answering(server: PywbServer, timeout: float) -> None:
    """Wait until our `wayback` answers, not merely something else on its port.

    The probe carries a token: the answer came from our pywb once its access log (written
    per request) shows that token.
    """
    token = uuid.uuid4().hex
    probe = f"{server.base_url}/?started={token}"
    deadline = time.monotonic() + timeout
    while True:
        if _answers(probe) and token in _log_text(server.log_path):
            return
        try:
            # Waiting on the process paces the polling and notices an early exit at once.
            code = server.process.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            code = None
        if code is not None:
            raise PywbStartError(f"pywb exited with status {code} while starting")
        if time.monotonic() > deadline:
            raise PywbStartError(f"pywb did not answer on {server.base_url} within {timeout} s")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def _client_host(host: str) -> str:
    """How a client on this machine reaches `host` (a wildcard address answers on loopback)."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _log_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def _log_tail(path: Path) -> str:
    return _log_text(path)[-_LOG_TAIL:].strip()
