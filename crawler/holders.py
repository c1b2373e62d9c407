"""Who holds a lock: a process named so that another run can tell whether it is gone.

A pid alone does not say: ``os.kill(pid, 0)`` succeeds on a zombie (killed, not yet
reaped by its parent) and on another process that got the same pid later. So a holder is
recorded as host, boot id, pid and the process's start time (``/proc/<pid>/stat``, clock
ticks since boot): on the same host and boot, a process with that pid, that start time
and not a zombie is the holder, alive; anything else means the holder is gone. On another
host (or where ``/proc`` cannot be read) nothing can be told from here.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

PROC = Path("/proc")


def _boot_id() -> str | None:
    try:
        return (PROC / "sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


def _stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks since boot) of a process, None if none."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # "pid (comm) state ppid …": comm may hold spaces and parentheses; fields after the
    # last ")" are fixed: state is field 3, starttime field 22.
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[19])


@dataclass(frozen=True)
class Holder:
    host: str
    pid: int
    boot_id: str | None = None
    started: int | None = None  # clock ticks after boot (/proc/<pid>/stat field 22)

    @classmethod
    def current(cls) -> Holder:
        pid = os.getpid()
        try:
            stat = _stat(pid)
        except OSError:
            stat = None
        return cls(socket.gethostname(), pid, _boot_id(), stat[1] if stat else None)

    @classmethod
    def from_dict(cls, data: dict) -> Holder | None:
        """The holder a lock records, or None when it records none that can be read."""
        host, pid = data.get("host"), data.get("pid")
        if not isinstance(host, str) or not isinstance(pid, int):
            return None
        started = data.get("started")
        boot_id = data.get("boot_id")
        return cls(
            host,
            pid,
            boot_id if isinstance(boot_id, str) else None,
            started if isinstance(started, int) else None,
        )

    def to_dict(self) -> dict:
        return asdict(self)

    def is_gone(self) -> bool | None:
        """True: this holder has certainly ended; False: it runs; None: cannot tell
        from this process (another host or boot, no /proc, an old lock without them)."""
        here = Holder.current()
        if self.host != here.host or self.boot_id is None or self.boot_id != here.boot_id:
            return None
        if self.started is None or here.started is None:
            return None
        try:
            stat = _stat(self.pid)
        except OSError as error:
            logger.warning("cannot read the state of process %d: %s", self.pid, error)
            return None
        if stat is None:
            return True  # no such process
        state, started = stat
        # Another process with the same pid, or the holder killed and not yet reaped.
        return started != self.started or state in ("Z", "X")

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host}"
