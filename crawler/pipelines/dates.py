"""Date parsing: the page's dates to ISO 8601 in the portal's time zone."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from crawler.config import portal_timezone
from crawler.items import ArticleItem

logger = logging.getLogger(__name__)

_PAGE_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d{2})$")


def parse_portal_date(value: str | None, tz: ZoneInfo) -> str | None:
    """``"31/03/2023 07:45"`` or any ISO 8601 form → ``"2023-03-31T07:45:00+07:00"``.

    Times without an offset are the portal's local time. Raises ValueError
    for text that is neither form.
    """
    if not value:
        return None
    value = value.strip()
    match = _PAGE_DATE.match(value)
    if match:
        day, month, year, hour, minute = map(int, match.groups())
        moment = datetime(year, month, day, hour, minute, tzinfo=tz)
    else:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        moment = moment.replace(tzinfo=tz) if moment.tzinfo is None else moment.astimezone(tz)
    return moment.isoformat(timespec="seconds")


class DatesPipeline:
    """Parse ``published_at`` / ``modified_at``; a modified date equal to the
    publication date means "not modified" and becomes null."""

    def __init__(self, tz: ZoneInfo, stats):
        self.tz = tz
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(portal_timezone(crawler.settings), crawler.stats)

    def process_item(self, item):
        if not isinstance(item, ArticleItem):
            return item
        item.published_at = self._parse(item, "published_at")
        item.modified_at = self._parse(item, "modified_at")
        if item.modified_at and item.modified_at == item.published_at:
            item.modified_at = None
        return item

    def _parse(self, item: ArticleItem, name: str) -> str | None:
        raw = getattr(item, name)
        try:
            return parse_portal_date(raw, self.tz)
        except ValueError:
            logger.warning("unparseable %s %r on %s", name, raw, item.url)
            self.stats.inc_value(f"items/bad_date/{name}")
            return None
