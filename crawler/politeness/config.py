"""Typed politeness settings (defined and documented in ``settings/default.py``)."""

from __future__ import annotations

from dataclasses import dataclass

from crawler.config import ConfigError


def _seconds(settings, name: str, low: float = 0.0) -> float:
    try:
        value = settings.getfloat(name)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{name}: expected a number of seconds, got {settings.get(name)!r}"
        ) from exc
    if not value >= low:  # also rejects NaN
        raise ConfigError(f"{name}: at least {low:g} seconds, got {value}")
    return value


@dataclass(frozen=True)
class PolitenessConfig:
    """When retries go again, and how a site that answers 429/503 is slowed down."""

    retry_backoff_base: float
    retry_backoff_max: float
    retry_after_max: float
    backoff_enabled: bool
    backoff_statuses: frozenset[int]
    backoff_start_delay: float
    backoff_max_delay: float
    # The delay a slot goes back to when the site answers normally again.
    download_delay: float

    @classmethod
    def from_settings(cls, settings) -> PolitenessConfig:
        base = _seconds(settings, "RETRY_BACKOFF_BASE", 0.001)
        cap = _seconds(settings, "RETRY_BACKOFF_MAX")
        if cap < base:
            raise ConfigError(f"RETRY_BACKOFF_MAX: at least RETRY_BACKOFF_BASE ({base}), got {cap}")
        start = _seconds(settings, "BACKOFF_START_DELAY", 0.001)
        most = _seconds(settings, "BACKOFF_MAX_DELAY")
        if most < start:
            raise ConfigError(
                f"BACKOFF_MAX_DELAY: at least BACKOFF_START_DELAY ({start}), got {most}"
            )
        return cls(
            retry_backoff_base=base,
            retry_backoff_max=cap,
            retry_after_max=_seconds(settings, "RETRY_AFTER_MAX"),
            backoff_enabled=settings.getbool("BACKOFF_ENABLED"),
            backoff_statuses=_statuses(settings),
            backoff_start_delay=start,
            backoff_max_delay=most,
            download_delay=_seconds(settings, "DOWNLOAD_DELAY"),
        )


def _statuses(settings) -> frozenset[int]:
    values = settings.getlist("BACKOFF_STATUSES")
    try:
        statuses = frozenset(int(v) for v in values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"BACKOFF_STATUSES: HTTP status codes expected, got {values!r}") from exc
    bad = sorted(s for s in statuses if not 400 <= s <= 599)
    if bad:
        raise ConfigError(f"BACKOFF_STATUSES: only 4xx and 5xx answers slow a site down: {bad}")
    return statuses
