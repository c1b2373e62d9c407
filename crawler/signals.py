"""The archiver's own Scrapy signals."""

from __future__ import annotations

import functools

from scrapy import Request

from crawler.browser import RENDER_META

#: Sent when a page callback has finished: ``response`` and the ``outlinks``
#: (URLs of the requests it made). The archive records them as the page's
#: WARC ``metadata`` record.
page_parsed = object()


def announces_outlinks(callback):
    """Decorate a spider callback (a generator) to send ``page_parsed`` when done.

    Cheaper than a spider middleware: no extra layer over every output.
    """

    @functools.wraps(callback)
    def wrapper(spider, response, *args, **kwargs):
        outlinks: list[str] = []
        for output in callback(spider, response, *args, **kwargs):
            if isinstance(output, Request):
                outlinks.append(output.url)
            yield output
        fetched_by = "browser" if response.meta.get(RENDER_META) else "http"
        spider.crawler.signals.send_catch_log(
            page_parsed, response=response, outlinks=outlinks, fetched_by=fetched_by
        )

    return wrapper
