"""The archive store: one small interface, chosen by the URI scheme of
``ARCHIVE_URI`` (``file://`` or a plain path, ``s3://bucket/prefix``)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from crawler.storage.base import ArchiveStore, StoredObject
from crawler.storage.config import StorageConfig
from crawler.storage.errors import (
    StorageAccessDenied,
    StorageError,
    StorageNotFound,
    StorageUnavailable,
    StorageVerificationFailed,
)
from crawler.storage.filestore import FileStore
from crawler.storage.s3 import S3Store

__all__ = [
    "ArchiveStore",
    "FileStore",
    "S3Store",
    "StorageAccessDenied",
    "StorageConfig",
    "StorageError",
    "StorageNotFound",
    "StorageUnavailable",
    "StorageVerificationFailed",
    "StoredObject",
    "open_store",
    "s3_bucket_prefix",
]


def _file_store(uri: str, _config: StorageConfig | None) -> FileStore:
    parts = urlsplit(uri)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"ARCHIVE_URI {uri!r}: a file:// URI names no host")
        path = Path(unquote(parts.path))
    else:
        path = Path(uri)
    return FileStore(path.expanduser().resolve())


def _s3_store(uri: str, config: StorageConfig | None) -> S3Store:
    bucket, prefix = s3_bucket_prefix(uri)
    if config is None:
        raise ValueError(f"ARCHIVE_URI {uri!r}: an S3 store needs its StorageConfig")
    return S3Store(bucket, prefix, config)


def s3_bucket_prefix(uri: str) -> tuple[str, str]:
    """Bucket and key prefix (no slashes around it) of ``s3://bucket/prefix``."""
    parts = urlsplit(uri)
    if "@" in parts.netloc:
        # Refused rather than hidden: credentials have one place, the AWS chain.
        raise ValueError(
            "ARCHIVE_URI: no credentials in the URI; use the AWS_* settings or the "
            "AWS configuration chain (environment, profile, instance role)"
        )
    if not parts.netloc:
        raise ValueError(f"ARCHIVE_URI {uri!r}: no bucket (use s3://bucket/prefix)")
    if parts.query or parts.fragment:
        raise ValueError(f"ARCHIVE_URI {uri!r}: no query or fragment in an s3:// URI")
    prefix = unquote(parts.path).strip("/")
    if any(part in ("", ".", "..") for part in prefix.split("/")) and prefix:
        raise ValueError(f"ARCHIVE_URI {uri!r}: no empty, '.' or '..' parts in the prefix")
    return parts.netloc, prefix


STORES = {"": _file_store, "file": _file_store, "s3": _s3_store}


def open_store(uri: str, config: StorageConfig | None = None) -> ArchiveStore:
    """The store for ``uri``; ``config`` (from ``StorageConfig.from_settings``)
    carries the S3 credentials and tuning (a file store needs none)."""
    uri = (uri or "").strip()
    if not uri:
        raise ValueError("ARCHIVE_URI is empty")
    scheme = urlsplit(uri).scheme
    factory = STORES.get(scheme)
    if factory is None:
        raise ValueError(
            f"ARCHIVE_URI {uri!r}: unsupported scheme {scheme!r} (use a path, file:// or s3://)"
        )
    return factory(uri, config)
