"""The archive root named by ``ARCHIVE_URI``, and the store behind it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from crawler.config import ConfigError
from crawler.storage import ArchiveStore, StorageConfig, open_store, s3_bucket_prefix


def archive_root_uri(value: str) -> str:
    """``ARCHIVE_URI`` as an absolute URI without a trailing slash.

    A plain path (relative to the working directory) or ``file://`` URI gives
    a ``file:///abs/path`` root; ``s3://bucket/prefix/`` gives
    ``s3://bucket/prefix``.
    """
    value = (value or "archive").strip()
    scheme = urlsplit(value).scheme
    if scheme == "s3":
        try:
            bucket, prefix = s3_bucket_prefix(value)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        return f"s3://{bucket}/{quote(prefix)}" if prefix else f"s3://{bucket}"
    if scheme == "file":
        parts = urlsplit(value)
        if parts.netloc not in ("", "localhost"):
            # file://host/x would silently be /x on this machine.
            raise ConfigError(
                f"ARCHIVE_URI: a file:// URI names no host, got host {parts.hostname!r} "
                "(use file:///path for a local directory, s3://bucket/prefix for a store)"
            )
        path = Path(unquote(parts.path))
    elif scheme:
        raise ConfigError(
            f"ARCHIVE_URI: unsupported scheme {scheme!r} in {value!r} "
            "(use a path, file:///path or s3://bucket/prefix)"
        )
    else:
        path = Path(value)
    return path.expanduser().resolve().as_uri()


def is_local(root_uri: str) -> bool:
    return urlsplit(root_uri).scheme == "file"


def local_path(root_uri: str) -> Path:
    """The local directory of a ``file://`` root (``ConfigError`` for any other)."""
    if not is_local(root_uri):
        raise ConfigError(f"{root_uri} is not a local directory")
    return Path(unquote(urlsplit(root_uri).path))


def archive_store(settings) -> ArchiveStore:
    """The store of the crawl's ``ARCHIVE_URI``, with the S3 credentials and tuning
    of ``settings``; ``ConfigError`` saying what is wrong with them."""
    root = archive_root_uri(settings.get("ARCHIVE_URI"))
    try:
        return open_store(root, StorageConfig.from_settings(settings))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
