"""Small helpers shared by tests: waiting on a condition, settings, processes, spools."""

import asyncio
import contextlib
import os
import shutil
import tempfile
import time
import traceback
import zlib
from collections.abc import Callable, Iterator
from io import BytesIO
from pathlib import Path

import psutil
from warcio.archiveiterator import ArchiveIterator

import settings.default as default_settings

# The user "nobody": no file of the test run is its own, no capability.
UNPRIVILEGED = 65534


def wait_for(condition, what: str, deadline: float = 180.0) -> None:
    """Poll ``condition`` until it holds; fail after ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def warc_writer_of(pid: int) -> psutil.Process | None:
    """The WARC writer process of the crawl ``pid``, once it has started."""
    for child in psutil.Process(pid).children():
        if "spawn_main" in " ".join(child.cmdline()):  # not the resource tracker
            return child
    return None


def whole_records(spool: Path) -> dict[str, tuple[str, str]]:
    """{record id: (type, target URI)} of the whole records in the spool's WARC files now:
    each file read up to its first gzip member that does not inflate to its end (a kill
    may cut the last one)."""
    for _attempt in range(3):
        try:
            files = [path.read_bytes() for path in spool.glob("*.warc.gz*")]
        except FileNotFoundError:
            continue  # the writer renamed its file as it closed it: look again
        found = {}
        for data in files:
            for member in _whole_members(data):
                record = next(iter(ArchiveIterator(BytesIO(member))))
                headers = record.rec_headers
                found[headers.get_header("WARC-Record-ID")] = (
                    record.rec_type,
                    headers.get_header("WARC-Target-URI"),
                )
        return found
    raise AssertionError(f"the files of {spool} kept changing names")


def _whole_members(data: bytes) -> list[bytes]:
    members, offset = [], 0
    while offset < len(data):
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            inflater.decompress(data[offset:])
        except zlib.error:
            break
        if not inflater.eof:
            break
        end = len(data) - len(inflater.unused_data)
        members.append(data[offset:end])
        offset = end
    return members


def project_settings(**overrides) -> dict:
    """The default profile as a dict, without the add-on (components are built one by one)."""
    values = {k: getattr(default_settings, k) for k in dir(default_settings) if k.isupper()}
    values.pop("ADDONS")
    values.update(overrides)
    return values


def storage_config(**overrides):
    """A StorageConfig from the project's defaults and ``overrides`` (setting names)."""
    from scrapy.settings import Settings

    from crawler.storage import StorageConfig

    return StorageConfig.from_settings(Settings(project_settings(**overrides)))


@contextlib.contextmanager
def unprivileged_workdir() -> Iterator[Path]:
    """A fresh directory that ``run_unprivileged`` may use (owned by ``UNPRIVILEGED`` when
    this process is root: pytest's own temporary directories are root's alone), removed
    afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="unprivileged-"))
    try:
        if os.geteuid() == 0:
            os.chown(workdir, UNPRIVILEGED, UNPRIVILEGED)
        yield workdir
    finally:
        shutil.rmtree(workdir)


def run_unprivileged(function: Callable[..., None], *args) -> None:
    """``function(*args)`` as a user without privileges: here if this process has none,
    else in a forked child that drops to ``UNPRIVILEGED`` first (root reads and writes
    whatever the permissions say); the child's failure fails the caller with its traceback.
    Forked, not a new interpreter: the interpreter lives where that user may not look."""
    if os.geteuid() != 0:
        function(*args)
        return
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the test run
        status = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(UNPRIVILEGED)
            os.setuid(UNPRIVILEGED)
            function(*args)
            status = 0
        except BaseException:
            os.write(write_end, traceback.format_exc().encode())
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        report = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, report


def run_in_own_loop(coroutine, timeout: float = 60.0):
    """Run ``coroutine`` to its end on an event loop of its own: not ``asyncio.run``, which
    would unset the loop of the reactor the test session installed."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(asyncio.wait_for(coroutine, timeout))
    finally:
        loop.close()
