"""A mapping kept on disk: what a crawl records per page until its end (the pages it asked
for, the versions it archived), so that the crawl's memory does not grow with the portal.

A private temporary SQLite database (``sqlite3.connect("")``): SQLite keeps at most its page
cache in memory (``CACHE_KIB``) and the rest in a file of the system's temporary directory
(``SQLITE_TMPDIR`` or ``TMPDIR``) that it deletes when the connection closes, or the process
ends; a killed crawl leaves nothing in the spool. Values are pickled (same software, same
process). It behaves as a dict (insertion order included) and pickles as one.
"""

from __future__ import annotations

import pickle
import sqlite3
from collections.abc import Iterator, MutableMapping

CACHE_KIB = 256  # SQLite's page cache, per map (its default: 2 MiB)


class SpillMap(MutableMapping):
    """str -> any picklable value, on disk; dict semantics, one thread at a time."""

    def __init__(self, items=()):
        # Used on the crawl's thread; the distributed finisher may fold parts in another.
        self._db = sqlite3.connect("", check_same_thread=False, isolation_level=None)
        self._db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        self._db.execute("PRAGMA journal_mode = OFF")  # private and temporary: no recovery
        self._db.execute("PRAGMA synchronous = OFF")
        # The rowid keeps the first insertion's place, as a dict does on reassignment.
        self._db.execute("CREATE TABLE map (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
        self._len = 0
        self.update(items)

    def __getitem__(self, key: str):
        row = self._db.execute("SELECT value FROM map WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return pickle.loads(row[0])  # noqa: S301 (written by this process)

    def __contains__(self, key) -> bool:
        if not isinstance(key, str):
            return False
        return self._db.execute("SELECT 1 FROM map WHERE key = ?", (key,)).fetchone() is not None

    def __setitem__(self, key: str, value) -> None:
        if not isinstance(key, str):
            raise TypeError(f"SpillMap keys are str, not {type(key).__name__}")
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        insert = "INSERT OR IGNORE INTO map (key, value) VALUES (?, ?)"
        if self._db.execute(insert, (key, data)).rowcount:
            self._len += 1
        else:  # an update keeps the key's rowid: its first place, as in a dict
            self._db.execute("UPDATE map SET value = ? WHERE key = ?", (data, key))

    def setdefault(self, key: str, default=None):
        """As dict.setdefault (one look-up, not a read back of what was written)."""
        try:
            return self[key]
        except KeyError:
            self[key] = default
            return default

    def __delitem__(self, key: str) -> None:
        if self._db.execute("DELETE FROM map WHERE key = ?", (key,)).rowcount == 0:
            raise KeyError(key)
        self._len -= 1

    def __iter__(self) -> Iterator[str]:
        # Read whole first: the map may change while its keys are walked (as a dict copy).
        return iter([row[0] for row in self._db.execute("SELECT key FROM map ORDER BY rowid")])

    def items(self):
        for key, data in self._db.execute("SELECT key, value FROM map ORDER BY rowid"):
            yield key, pickle.loads(data)  # noqa: S301

    def values(self):
        for _key, value in self.items():
            yield value

    def __len__(self) -> int:
        return self._len

    def __repr__(self) -> str:
        return f"SpillMap({self._len} entries)"

    def __eq__(self, other) -> bool:
        if isinstance(other, MutableMapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    def __reduce__(self):
        return (SpillMap, (list(self.items()),))

    def close(self) -> None:
        self._db.close()
