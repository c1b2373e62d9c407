"""How long to wait: a server's ``Retry-After`` (RFC 9110 §10.2.3), or a backoff with jitter."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | bytes | None, date: str | bytes | None = None,
                      now: datetime | None = None) -> float | None:  # fmt: skip
    """Seconds to wait that a ``Retry-After`` value asks for, or None when it says nothing
    readable. Delta-seconds as given; an HTTP-date relative to the answer's ``Date`` header
    when it has one (the server's clock, whatever ours says), else to ``now``. A time in the
    past means no wait (0)."""
    text = _text(value)
    if not text:
        return None
    if text.isdigit():
        return float(text)
    when = _http_date(text)
    if when is None:
        return None
    reference = _http_date(_text(date)) or now or datetime.now(UTC)
    return max(0.0, (when - reference).total_seconds())


def backoff_wait(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """The wait before retry number ``attempt`` (1, 2, …): ``base * 2**(attempt-1)`` up to
    ``cap``, of which a random half is kept ("equal jitter": never immediate, and retries
    that failed together do not come back together)."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def _text(value: str | bytes | None) -> str:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return (value or "").strip()


def _http_date(text: str) -> datetime | None:
    if not text:
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
