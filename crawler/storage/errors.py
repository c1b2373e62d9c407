"""What can go wrong with an archive store.

Messages name the store, the key and what the store answered; they never
carry credentials (``scrub`` blanks a secret should a library ever echo it).
"""

from __future__ import annotations


class StorageError(Exception):
    """An archive store operation failed; the local file, if any, is kept."""


class StorageUnavailable(StorageError):
    """The store cannot be reached (connection refused, timeouts, resets)."""


class StorageAccessDenied(StorageError):
    """Credentials missing, wrong, or not allowed to do this."""


class StorageNotFound(StorageError):
    """No such bucket or object."""


class StorageVerificationFailed(StorageError):
    """The stored object does not match the local bytes (size or checksum)."""


def scrub(text: str, *secrets: str | None) -> str:
    """``text`` with every non-empty secret replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
