"""Files that appear whole or not at all, and survive a crash once they have appeared.

A file is written under a fresh hidden name beside its place, made durable (fsync), renamed
over its place, and the rename made durable too (fsync of the directory). A reader never sees
half a file; a crash leaves the old file (or none) and at most a hidden temporary one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


def fsync_dir(directory: Path) -> None:
    """Make a rename (or a new file) in ``directory`` durable."""
    # A rename is durable only once the directory entry itself reaches the disk.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temporary_path(path: Path) -> Path:
    """A fresh hidden name beside ``path``, to write to and then rename over it."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")


def rename_durably(source: Path, target: Path) -> None:
    """Rename ``source`` (already fsync'ed) to ``target`` and make the rename durable."""
    os.replace(source, target)
    fsync_dir(Path(target).parent)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path to write ``path``'s content to (any way: a zip library, a copy);
    after the block it is made durable and renamed over ``path``. On an error it goes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temporary_path(path)
    try:
        yield temp
        fd = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        rename_durably(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_file(path: Path, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """``open(path, mode)`` that appears at ``path`` whole, only once the block is done."""
    with atomic_path(path) as temp, open(temp, mode.replace("w", "x"), encoding=encoding) as out:
        yield out
        out.flush()


def write_atomically(path: Path, data: bytes) -> None:
    """``path`` holds ``data``, whole and on disk."""
    with atomic_file(path, "wb") as out:
        out.write(data)
