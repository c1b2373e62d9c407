"""The archive in a local directory (``file:///path`` or a plain path)."""

from __future__ import annotations

import hashlib
import logging
import tempfile
from pathlib import Path

from crawler.atomic import atomic_file, write_atomically
from crawler.storage.base import CHUNK, StoredObject, check_key, file_digest
from crawler.storage.errors import (
    StorageAccessDenied,
    StorageError,
    StorageNotFound,
    StorageUnavailable,
    StorageVerificationFailed,
)

logger = logging.getLogger(__name__)


def _storage_error(exc: OSError, what: str) -> StorageError:
    if isinstance(exc, PermissionError):
        return StorageAccessDenied(f"{what}: permission denied ({exc.strerror})")
    if isinstance(exc, FileNotFoundError):
        return StorageNotFound(f"{what}: not found")
    return StorageUnavailable(f"{what}: {exc.strerror or exc}")


class FileStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.uri = self.root.as_uri() if self.root.is_absolute() else str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put_file(self, local_path: Path, key: str) -> StoredObject:
        """Copy into a temporary file beside the target, make it durable,
        rename it into place, then read it back to verify it."""
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            size, sha256 = self._copy(Path(local_path), target)
            stored_size, stored_sha256 = file_digest(target)
        except OSError as exc:
            raise _storage_error(exc, f"storing {local_path} as {target}") from exc
        if (stored_size, stored_sha256) != (size, sha256):
            raise StorageVerificationFailed(
                f"{target}: stored {stored_size} bytes sha256 {stored_sha256}, "
                f"sent {size} bytes sha256 {sha256}"
            )
        logger.debug("stored %s as %s (%d bytes)", local_path, target, size)
        return StoredObject(key, size, sha256)

    def _copy(self, source: Path, target: Path) -> tuple[int, str]:
        digest = hashlib.sha256()
        size = 0
        with open(source, "rb") as reader, atomic_file(target, "wb") as writer:
            while chunk := reader.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                writer.write(chunk)
        return size, digest.hexdigest()

    def put_bytes(self, data: bytes, key: str) -> StoredObject:
        target = self._path(key)
        try:
            write_atomically(target, data)
            stored_size, stored_sha256 = file_digest(target)
        except OSError as exc:
            raise _storage_error(exc, f"storing {target}") from exc
        sha256 = hashlib.sha256(data).hexdigest()
        if (stored_size, stored_sha256) != (len(data), sha256):
            raise StorageVerificationFailed(
                f"{target}: stored {stored_size} bytes sha256 {stored_sha256}, "
                f"sent {len(data)} bytes sha256 {sha256}"
            )
        return StoredObject(key, len(data), sha256)

    def get_bytes(self, key: str) -> bytes:
        target = self._path(key)
        try:
            return target.read_bytes()
        except OSError as exc:
            raise _storage_error(exc, f"reading {target}") from exc

    def get_range(self, key: str, offset: int, length: int) -> bytes:
        target = self._path(key)
        try:
            with open(target, "rb") as stream:
                stream.seek(offset)
                return stream.read(length)
        except OSError as exc:
            raise _storage_error(exc, f"reading {target}") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> list[str]:
        if not self.root.is_dir():
            return []
        keys = []
        for path in self.root.rglob("*"):
            if path.is_file() and not path.name.startswith("."):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def delete(self, key: str) -> None:
        target = self._path(key)
        try:
            target.unlink(missing_ok=True)
        except OSError as exc:
            raise _storage_error(exc, f"deleting {target}") from exc

    def check_access(self) -> None:
        """The root can be created and written."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.root) as probe:
                probe.write(b"probe")
        except OSError as exc:
            raise _storage_error(exc, f"archive root {self.root} not writable") from exc
