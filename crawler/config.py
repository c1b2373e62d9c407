"""Typed configuration, read once from Scrapy settings.

Every ``PORTAL_*`` / ``ITEMS_*`` setting is defined and documented in
``settings/default.py``; this module only parses and checks them, rejecting
nonsense with a message that names the setting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crawler.extract.rules import ExtractionRules
from crawler.urls import PortalUrls, host_key

_HOST = re.compile(r"(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?")
_CRAWL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class ConfigError(ValueError):
    """A setting has a value the crawler cannot work with."""


class CrawlOverlap(ConfigError):
    """Another run holds what this one needs (the spool, the state lock): nothing is
    fetched, and the exit status says so (5), whatever was held."""


def _regex(name: str, value: str) -> re.Pattern[str]:
    try:
        return re.compile(value)
    except re.error as exc:
        raise ConfigError(f"{name}: not a valid regular expression ({exc}): {value!r}") from exc


def _http_url(name: str, value: str) -> str:
    if not (value or "").strip():
        # Never a silent fallback to the default portal.
        raise ConfigError(f"{name} is empty: give the portal's http(s) address")
    parts = urlsplit(value)
    if "@" in parts.netloc:
        shown = parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()
        raise ConfigError(
            f"{name}: no user name or password in the URL ({shown}): they would be copied "
            "into the log, the manifest, every WARC and the WACZ"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name}: expected an http(s) URL, got {value!r}")
    return value if parts.path else value + "/"


def _host_names(name: str, values) -> tuple[str, ...]:
    """``host[:port]`` names, lower-cased; anything else (a URL, credentials) refused."""
    hosts = tuple(value.lower() for value in _str_list(name, values))
    for host in hosts:
        if not _HOST.fullmatch(host):
            shown = "***@" + host.rpartition("@")[2] if "@" in host else host
            raise ConfigError(f"{name}: expected host or host:port names, got {shown!r}")
    return hosts


def crawl_id_from_settings(settings) -> str:
    """``CRAWL_ID``: one safe name. It names a directory of the spool and of the archive
    (``warcs/<crawl_id>/``), so a path ("../x", "a/b") would write outside them."""
    value = settings.get("CRAWL_ID") or ""
    if not _CRAWL_ID.fullmatch(value):
        raise ConfigError(
            f"CRAWL_ID: one name of letters, digits, '.', '_' and '-' (not first), "
            f"at most 128 characters, got {value!r}"
        )
    return value


def _str_list(name: str, value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [v for v in value.split(",")]
    items = tuple(str(v).strip() for v in value if str(v).strip())
    return items


@dataclass(frozen=True)
class PortalConfig:
    """Which portal to crawl, what is in scope and how far to go."""

    url: str
    urls: PortalUrls
    sections: tuple[str, ...]
    max_listing_pages: int
    follow_related: bool
    fetch_images: bool
    seed_sitemap: bool
    seed_feeds: bool
    timezone: ZoneInfo
    rules: ExtractionRules = field(repr=False)

    @classmethod
    def from_settings(cls, settings) -> PortalConfig:
        url = _http_url("PORTAL_URL", settings.get("PORTAL_URL"))
        hosts = {host_key(url)}
        hosts.update(_host_names("PORTAL_EXTRA_HOSTS", settings.getlist("PORTAL_EXTRA_HOSTS")))
        max_pages = settings.getint("PORTAL_MAX_LISTING_PAGES")
        if max_pages < 1:
            raise ConfigError(f"PORTAL_MAX_LISTING_PAGES: must be >= 1, got {max_pages}")
        sections = tuple(
            _http_url("PORTAL_SECTIONS", s)
            for s in _str_list("PORTAL_SECTIONS", settings.getlist("PORTAL_SECTIONS"))
        )
        urls = PortalUrls(
            hosts=frozenset(hosts),
            article_path=_regex("PORTAL_ARTICLE_PATH", settings.get("PORTAL_ARTICLE_PATH")),
            tracking_params=tuple(p.lower() for p in settings.getlist("PORTAL_TRACKING_PARAMS")),
        )
        return cls(
            url=urls.canonical(url),
            urls=urls,
            sections=tuple(urls.canonical(s) for s in sections),
            max_listing_pages=max_pages,
            follow_related=settings.getbool("PORTAL_FOLLOW_RELATED"),
            fetch_images=settings.getbool("PORTAL_FETCH_IMAGES"),
            seed_sitemap=settings.getbool("PORTAL_SEED_SITEMAP"),
            seed_feeds=settings.getbool("PORTAL_SEED_FEEDS"),
            timezone=portal_timezone(settings),
            rules=rules_from_settings(settings),
        )


@dataclass(frozen=True)
class LimitsConfig:
    """Bounds on what one crawl takes from the portal (settings/default.py, "Bounds")."""

    links_per_page: int
    related_depth: int
    stale_listing_pages: int
    crawl_pages: int  # 0: no limit (Scrapy's CLOSESPIDER_PAGECOUNT)
    crawl_seconds: float  # 0: no limit (Scrapy's CLOSESPIDER_TIMEOUT)

    @classmethod
    def from_settings(cls, settings) -> LimitsConfig:
        at_least_one = {}
        for name in (
            "PORTAL_MAX_LINKS_PER_PAGE",
            "PORTAL_MAX_RELATED_DEPTH",
            "PORTAL_MAX_STALE_LISTING_PAGES",
        ):
            value = _int(settings, name)
            if value < 1:
                raise ConfigError(f"{name}: must be >= 1, got {value}")
            at_least_one[name] = value
        pages = _int(settings, "CLOSESPIDER_PAGECOUNT")
        if pages < 0:
            raise ConfigError(f"CLOSESPIDER_PAGECOUNT: must be >= 0 (0: no limit), got {pages}")
        try:
            seconds = settings.getfloat("CLOSESPIDER_TIMEOUT")
        except ValueError as exc:
            raise ConfigError(f"CLOSESPIDER_TIMEOUT: not a number of seconds ({exc})") from exc
        if not seconds >= 0:
            raise ConfigError(f"CLOSESPIDER_TIMEOUT: must be >= 0 (0: no limit), got {seconds}")
        return cls(
            links_per_page=at_least_one["PORTAL_MAX_LINKS_PER_PAGE"],
            related_depth=at_least_one["PORTAL_MAX_RELATED_DEPTH"],
            stale_listing_pages=at_least_one["PORTAL_MAX_STALE_LISTING_PAGES"],
            crawl_pages=pages,
            crawl_seconds=seconds,
        )


def _int(settings, name: str) -> int:
    try:
        return settings.getint(name)
    except ValueError as exc:
        raise ConfigError(f"{name}: not a whole number ({exc})") from exc


def portal_timezone(settings) -> ZoneInfo:
    """The time zone of dates the portal shows without an offset."""
    name = settings.get("PORTAL_TIMEZONE")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"PORTAL_TIMEZONE: unknown time zone {name!r}") from exc


def rules_from_settings(settings) -> ExtractionRules:
    """The extraction cues and per-portal selectors."""
    selectors = settings.getdict("PORTAL_SELECTORS")
    unknown = set(selectors) - set(ExtractionRules.SELECTOR_KEYS)
    if unknown:
        raise ConfigError(
            f"PORTAL_SELECTORS: unknown keys {sorted(unknown)}; "
            f"known: {list(ExtractionRules.SELECTOR_KEYS)}"
        )
    return ExtractionRules(
        content_end_markers=_str_list(
            "PORTAL_CONTENT_END_MARKERS", settings.getlist("PORTAL_CONTENT_END_MARKERS")
        ),
        related_headings=_str_list(
            "PORTAL_RELATED_HEADINGS", settings.getlist("PORTAL_RELATED_HEADINGS")
        ),
        source_prefixes=_str_list(
            "PORTAL_SOURCE_PREFIXES", settings.getlist("PORTAL_SOURCE_PREFIXES")
        ),
        original_link_texts=_str_list(
            "PORTAL_ORIGINAL_LINK_TEXTS", settings.getlist("PORTAL_ORIGINAL_LINK_TEXTS")
        ),
        furniture_patterns=tuple(
            _regex("PORTAL_FURNITURE_PATTERNS", p)
            for p in settings.getlist("PORTAL_FURNITURE_PATTERNS")
        ),
        selectors={k: v for k, v in selectors.items() if v},
    )


@dataclass(frozen=True)
class WarcConfig:
    """WARC writing: on or off, file size, names, where the spool is."""

    enabled: bool
    max_size: int
    prefix: str
    spool_dir: Path
    operator: str
    robots_policy: str

    @classmethod
    def from_settings(cls, settings) -> WarcConfig:
        max_size = settings.getint("WARC_MAX_SIZE")
        if max_size < 64 * 1024:
            raise ConfigError(f"WARC_MAX_SIZE: at least 65536 bytes, got {max_size}")
        prefix = settings.get("WARC_PREFIX") or ""
        if not re.fullmatch(r"[A-Za-z0-9._]+(?:-[A-Za-z0-9._]+)*", prefix):
            raise ConfigError(
                f"WARC_PREFIX: letters, digits, '.', '_' and inner '-' only: {prefix!r}"
            )
        return cls(
            enabled=settings.getbool("WARC_ENABLED"),
            max_size=max_size,
            prefix=prefix,
            spool_dir=Path(settings.get("WARC_SPOOL_DIR")).expanduser().resolve(),
            operator=settings.get("CONTACT_URL") or "",
            robots_policy="obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
        )


@dataclass(frozen=True)
class BrowserConfig:
    """Browser rendering: which pages, which Chromium, how many pages, how long."""

    enabled: bool
    executable: Path | None  # None: Playwright's own Chromium
    args: tuple[str, ...]
    max_pages: int
    navigation_timeout: float
    settle_timeout: float
    idle_time: float
    render_urls: tuple[re.Pattern[str], ...]
    render_sections: frozenset[str]
    render_auto: bool
    load_more_texts: tuple[str, ...]
    max_load_more: int
    screenshot: bool

    @classmethod
    def from_settings(cls, settings) -> BrowserConfig:
        numbers = {}
        for name, low in (
            ("BROWSER_NAVIGATION_TIMEOUT", 1.0),
            ("BROWSER_SETTLE_TIMEOUT", 0.0),
            ("BROWSER_IDLE_TIME", 0.0),
        ):
            value = settings.getfloat(name)
            if value < low:
                raise ConfigError(f"{name}: at least {low} seconds, got {value}")
            numbers[name] = value
        max_pages = settings.getint("BROWSER_MAX_PAGES")
        if max_pages < 1:
            raise ConfigError(f"BROWSER_MAX_PAGES: at least 1, got {max_pages}")
        max_load_more = settings.getint("BROWSER_MAX_LOAD_MORE")
        if max_load_more < 0:
            raise ConfigError(f"BROWSER_MAX_LOAD_MORE: at least 0, got {max_load_more}")
        executable = Path(settings.get("BROWSER_EXECUTABLE") or "").expanduser()
        return cls(
            enabled=settings.getbool("BROWSER_ENABLED"),
            executable=executable if executable.name and executable.is_file() else None,
            args=_str_list("BROWSER_ARGS", settings.getlist("BROWSER_ARGS")),
            max_pages=max_pages,
            navigation_timeout=numbers["BROWSER_NAVIGATION_TIMEOUT"],
            settle_timeout=numbers["BROWSER_SETTLE_TIMEOUT"],
            idle_time=numbers["BROWSER_IDLE_TIME"],
            render_urls=tuple(
                _regex("BROWSER_RENDER_URLS", p)
                for p in _str_list("BROWSER_RENDER_URLS", settings.getlist("BROWSER_RENDER_URLS"))
            ),
            render_sections=frozenset(
                _str_list("BROWSER_RENDER_SECTIONS", settings.getlist("BROWSER_RENDER_SECTIONS"))
            ),
            render_auto=settings.getbool("BROWSER_RENDER_AUTO"),
            load_more_texts=_str_list(
                "BROWSER_LOAD_MORE_TEXTS", settings.getlist("BROWSER_LOAD_MORE_TEXTS")
            ),
            max_load_more=max_load_more,
            screenshot=settings.getbool("BROWSER_SCREENSHOT"),
        )

    def configured_reason(self, url: str, section_slug: str | None) -> str | None:
        """Why the configuration wants ``url`` rendered ("url" or "section"), or None."""
        if not self.enabled:
            return None
        if any(pattern.search(url) for pattern in self.render_urls):
            return "url"
        if section_slug and section_slug in self.render_sections:
            return "section"
        return None

    def playwright_settings(self) -> dict:
        """scrapy-playwright's settings for this configuration."""
        launch = {"headless": True, "args": list(self.args)}
        if self.executable is not None:
            launch["executable_path"] = str(self.executable)
        return {
            "PLAYWRIGHT_BROWSER_TYPE": "chromium",
            "PLAYWRIGHT_LAUNCH_OPTIONS": launch,
            # One context, reused by every page; the cap on pages is the cap per context.
            "PLAYWRIGHT_MAX_CONTEXTS": 1,
            "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": self.max_pages,
            "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": self.navigation_timeout * 1000,
        }


@dataclass(frozen=True)
class StoredConfig:
    """What a crawl stores besides its WARCs and indexes: a WACZ at its end (and with what
    page text), and how hard its items feed is compressed."""

    wacz: bool
    wacz_page_text: bool
    items_gzip_level: int

    @classmethod
    def from_settings(cls, settings) -> StoredConfig:
        level = settings.getint("ITEMS_FEED_GZIP_LEVEL")
        if not 1 <= level <= 9:
            raise ConfigError(f"ITEMS_FEED_GZIP_LEVEL: a gzip level from 1 to 9, got {level}")
        return cls(
            wacz=settings.getbool("WACZ_ENABLED"),
            wacz_page_text=settings.getbool("WACZ_PAGE_TEXT"),
            items_gzip_level=level,
        )
