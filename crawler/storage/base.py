"""The archive store interface and what every store shares."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredObject:
    """An object as stored and verified: its key under the store root, its
    size in bytes and the hex sha256 of its bytes."""

    key: str
    size: int
    sha256: str


class ArchiveStore(Protocol):
    """Where the archive goes: a directory or an S3 prefix. Keys are
    relative, ``/``-separated (``warcs/<crawl_id>/x.warc.gz``). Methods block:
    callers on the reactor thread run them in a thread."""

    uri: str

    def put_file(self, local_path: Path, key: str) -> StoredObject:
        """Store ``local_path`` under ``key`` and verify what was stored."""

    def put_bytes(self, data: bytes, key: str) -> StoredObject:
        """Store ``data`` under ``key`` and verify what was stored."""

    def get_bytes(self, key: str) -> bytes: ...

    def get_range(self, key: str, offset: int, length: int) -> bytes:
        """``length`` bytes of ``key`` from ``offset`` (fewer at the end of the object)."""

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str = "") -> list[str]:
        """The keys starting with ``prefix``, sorted."""

    def delete(self, key: str) -> None:
        """Remove ``key``; no error if it is not there."""

    def check_access(self) -> None:
        """Raise a ``StorageError`` now if the store cannot be written."""


def check_key(key: str) -> str:
    """``key`` if it is a clean relative key, else ``ValueError``."""
    parts = key.split("/")
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"bad archive key {key!r}: relative, no empty, '.' or '..' parts")
    return key


def file_digest(path: Path) -> tuple[int, str]:
    """Size and hex sha256 of the file at ``path``."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
