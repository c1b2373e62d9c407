"""The archive root named by ``ARCHIVE_URI``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit


def archive_root_uri(value: str) -> str:
    """``ARCHIVE_URI`` as an absolute URI without a trailing slash.

    A plain path (relative to the working directory) or ``file://`` URI gives
    a ``file:///abs/path`` root.
    """
    value = (value or "archive").strip()
    scheme = urlsplit(value).scheme
    if scheme == "file":
        path = Path(urlsplit(value).path)
    elif scheme:
        raise ValueError(
            f"ARCHIVE_URI: unsupported scheme {scheme!r} in {value!r} (use a path or file://)"
        )
    else:
        path = Path(value)
    return path.expanduser().resolve().as_uri()


def local_path(root_uri: str) -> Path:
    """The local directory of a ``file://`` root."""
    return Path(urlsplit(root_uri).path)
