"""Asking a WordPress portal what changed: the REST API's `modified_after` query (WP 5.7+)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

REST_POSTS = "wp-json/wp/v2/posts"
PER_PAGE = 100
# Clocks differ between us and the portal; asking a little further back costs nothing.
CLOCK_MARGIN = timedelta(minutes=10)


def changes_url(portal_url: str, since: datetime) -> str:
    """The first page of posts modified after `since`, most recently modified first."""
    after = (since.astimezone(UTC) - CLOCK_MARGIN).strftime("%Y-%m-%dT%H:%M:%SZ")
    query = {
        "modified_after": after,
        "orderby": "modified",
        "order": "desc",
        "per_page": PER_PAGE,
        "_fields": "id,link,modified_gmt",
        "page": 1,
    }
    return urljoin(portal_url, REST_POSTS) + "?" + urlencode(query)


def with_page(url: str, page: int) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["page"] = str(page)
    return urlunsplit(parts._replace(query=urlencode(query)))


def parse_gmt(value) -> datetime | None:
    """WordPress's `modified_gmt` (`2026-11-26T03:15:00`, UTC without an offset)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
