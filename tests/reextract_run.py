"""Run ``scrapy reextract`` as a user does, with the network taken away, and read what it left.

The network guard is a ``sitecustomize`` module put first on ``PYTHONPATH``: every Python
process of the command (the command, the fork server, each worker) imports it at start-up,
and from then on any attempt at an internet socket (connecting, sending, resolving a name)
raises ``NetworkBlocked``, and is written to a log file beside the guard first, so that an
attempt swallowed by some ``except`` still shows. Local (AF_UNIX) sockets stay: the process
pool talks through them. ``guard_works`` shows the guard stops a real connection.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.crawl import assert_no_warning_raised, scrapy_env

GUARD = """
import os, socket

_LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "attempts.log")


class NetworkBlocked(OSError):
    pass


def _blocked(what):
    with open(_LOG, "a") as log:
        log.write(f"{os.getpid()} {what}\\n")
    raise NetworkBlocked(f"network blocked in this test: {what}")


_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_sendto = socket.socket.sendto


def _internet(sock):
    return sock.family in (socket.AF_INET, socket.AF_INET6)


def connect(self, address):
    if _internet(self):
        _blocked(f"connect {address!r}")
    return _connect(self, address)


def connect_ex(self, address):
    if _internet(self):
        _blocked(f"connect_ex {address!r}")
    return _connect_ex(self, address)


def sendto(self, *args):
    if _internet(self):
        _blocked(f"sendto {args[-1]!r}")
    return _sendto(self, *args)


def getaddrinfo(host, *args, **kwargs):
    _blocked(f"getaddrinfo {host!r}")


socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto = connect, connect_ex, sendto
socket.getaddrinfo = getaddrinfo
"""


def network_guard(directory: Path) -> Path:
    """A directory holding the guard's ``sitecustomize.py`` (and, later, its attempts log)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
    return directory


def guarded_env(guard: Path, **extra: str) -> dict[str, str]:
    env = scrapy_env()
    env["PYTHONPATH"] = os.pathsep.join((str(guard), env["PYTHONPATH"]))
    return {**env, **extra}


def attempts(guard: Path) -> list[str]:
    log = guard / "attempts.log"
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def guard_works(guard: Path, port: int) -> str:
    """What a guarded Python says when it connects to ``127.0.0.1:port`` (a live server)."""
    probe = f"import socket; socket.socket().connect(('127.0.0.1', {port}))"
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        env=guarded_env(guard),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return completed.stderr


def run_reextract(archive: str, *args: str, guard: Path, cwd: Path, env: dict | None = None):
    """``scrapy reextract`` with the network guard; fails if a warning was raised in it."""
    command = [sys.executable, "-m", "scrapy", "reextract", *args, "-s", f"ARCHIVE_URI={archive}"]
    completed = subprocess.run(
        command,
        cwd=cwd,
        env={**guarded_env(guard), **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert_no_warning_raised(completed.stderr)
    return completed


def read_items(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]
