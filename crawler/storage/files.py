"""Spool files into the store: deleted locally only once stored and verified."""

from __future__ import annotations

import logging
from pathlib import Path

from crawler.archive.files import fsync_dir
from crawler.storage.base import ArchiveStore, StoredObject
from crawler.storage.errors import StorageVerificationFailed

logger = logging.getLogger(__name__)


def store_and_verify(store: ArchiveStore, local_path: Path, key: str) -> StoredObject:
    """Store ``local_path`` as ``key``, then delete the local file.

    ``put_file`` verifies the stored object against the local bytes (size and
    sha256; for S3 the checksum the store checked on receipt, read back with
    HEAD). The local file must also be unchanged since before the upload. On
    any failure the local file stays and the error is raised.
    """
    local_path = Path(local_path)
    before = local_path.stat()
    stored = store.put_file(local_path, key)
    after = local_path.stat()
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        raise StorageVerificationFailed(
            f"{local_path} changed while it was stored as {key}; kept for another try"
        )
    if stored.size != before.st_size:
        raise StorageVerificationFailed(
            f"{store.uri}/{key}: stored {stored.size} bytes, {local_path} has {before.st_size}"
        )
    local_path.unlink()
    fsync_dir(local_path.parent)
    logger.info("%s stored as %s/%s (%d bytes, verified)", local_path, store.uri, key, stored.size)
    return stored
