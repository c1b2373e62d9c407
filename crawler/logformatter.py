"""Log lines for dropped items: the reason, not the whole article body."""

from __future__ import annotations

from scrapy.logformatter import LogFormatter


class ArchiverLogFormatter(LogFormatter):
    def dropped(self, item, exception, response, spider):
        result = super().dropped(item, exception, response, spider)
        # The exception already names the URL; the item would repeat the body.
        result["msg"] = "Dropped: %(exception)s"
        return result
