"""Is the archive store there, and does it let this run in? Asked before anything is fetched."""

from __future__ import annotations

import logging

from crawler.config import ConfigError
from crawler.storage import (
    ArchiveStore,
    StorageAccessDenied,
    StorageError,
    StorageNotFound,
    StorageUnavailable,
)

logger = logging.getLogger(__name__)


class StoreRefused(ConfigError):
    """The archive store refused this run (credentials, permissions, no bucket)."""


def check_store(store: ArchiveStore) -> bool:
    """Probe the store; ``False`` if it cannot be reached now, ``StoreRefused`` if it
    refuses us. An unreachable store does not stop a crawl: it archives into the spool."""
    try:
        store.check_access()
    except StorageUnavailable as error:
        logger.warning(
            "archive store %s unreachable (%s): archiving into the spool, to be stored "
            "when it answers again",
            store.uri,
            error,
        )
        return False
    except (StorageAccessDenied, StorageNotFound) as error:
        raise StoreRefused(f"archive store refused: {error}; nothing was fetched") from None
    except StorageError as error:
        raise StoreRefused(f"archive store not usable: {error}; nothing was fetched") from None
    return True
