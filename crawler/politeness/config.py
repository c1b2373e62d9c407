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


@dataclass(frozen=True)
class SharedPolitenessConfig:
    """The politeness of one portal kept in Redis, so that every worker of a crawl (and every
    crawl of the portal) keeps to one profile's pace together (``shared.py``)."""

    redis_url: str
    key_prefix: str
    # Requests sent to one site at once, by all workers together.
    concurrency: int
    # Milliseconds between two requests to one site, at least (DOWNLOAD_DELAY).
    min_delay_ms: int
    # Each delay varies by ± this fraction of it (Scrapy's DOWNLOAD_DELAY_JITTER).
    jitter: float
    autothrottle: bool
    autothrottle_start_ms: int
    autothrottle_max_ms: int
    autothrottle_target: float
    lease_ttl: float
    poll_interval: float
    redis_retry: float
    state_ttl: float

    @staticmethod
    def url_of(settings) -> str:
        """``POLITENESS_REDIS_URL``, else the crawl's ``REDIS_URL`` when it is distributed."""
        url = (settings.get("POLITENESS_REDIS_URL") or "").strip()
        if not url and settings.getbool("DISTRIBUTED_ENABLED"):
            url = (settings.get("REDIS_URL") or "").strip()
        return url

    @classmethod
    def wanted(cls, settings) -> bool:
        """Whether the settings ask for shared politeness (a Redis URL)."""
        return bool(cls.url_of(settings))

    @classmethod
    def from_settings(cls, settings) -> SharedPolitenessConfig:
        url = cls.url_of(settings)
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(
                f"POLITENESS_REDIS_URL: expected redis://, rediss:// or unix:// URL, got {url!r}"
            )
        prefix = (settings.get("POLITENESS_REDIS_PREFIX") or "").strip()
        if not prefix:
            raise ConfigError("POLITENESS_REDIS_PREFIX: empty (the keys would have no prefix)")
        concurrency = settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
        if concurrency < 1:
            raise ConfigError(
                f"CONCURRENT_REQUESTS_PER_DOMAIN: at least 1 when shared, got {concurrency}"
            )
        target = settings.getfloat("AUTOTHROTTLE_TARGET_CONCURRENCY")
        autothrottle = settings.getbool("AUTOTHROTTLE_ENABLED")
        if autothrottle and not target > 0:
            raise ConfigError(f"AUTOTHROTTLE_TARGET_CONCURRENCY: above 0, got {target}")
        delay = _seconds(settings, "DOWNLOAD_DELAY")
        jitter = settings.getfloat("DOWNLOAD_DELAY_JITTER")
        if not 0 <= jitter <= 1:
            raise ConfigError(f"DOWNLOAD_DELAY_JITTER: from 0 to 1, got {jitter}")
        lease_ttl = _seconds(settings, "POLITENESS_LEASE_TTL", 1.0)
        timeout = settings.getfloat("DOWNLOAD_TIMEOUT")
        if lease_ttl <= timeout:
            raise ConfigError(
                f"POLITENESS_LEASE_TTL: more than DOWNLOAD_TIMEOUT ({timeout:g} s), got "
                f"{lease_ttl:g}: a request still downloading would lose its slot"
            )
        return cls(
            redis_url=url,
            key_prefix=prefix,
            concurrency=concurrency,
            min_delay_ms=round(delay * 1000),
            jitter=jitter,
            autothrottle=autothrottle,
            autothrottle_start_ms=round(
                max(delay, _seconds(settings, "AUTOTHROTTLE_START_DELAY")) * 1000
            ),
            autothrottle_max_ms=round(_seconds(settings, "AUTOTHROTTLE_MAX_DELAY") * 1000),
            autothrottle_target=target,
            lease_ttl=lease_ttl,
            poll_interval=_seconds(settings, "POLITENESS_POLL_INTERVAL", 0.01),
            redis_retry=_seconds(settings, "POLITENESS_REDIS_RETRY", 0.1),
            state_ttl=_seconds(settings, "POLITENESS_STATE_TTL", 60.0),
        )
