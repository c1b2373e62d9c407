"""Responses dropped for their size, counted: Scrapy drops them with a warning and no stat.

- A download past DOWNLOAD_MAXSIZE (announced by Content-Length, or received) is cancelled
  by Scrapy's download handler: ``pages/dropped/too_large``.
- A body that inflates past DOWNLOAD_MAXSIZE (a gzip bomb) is dropped by Scrapy's
  HttpCompressionMiddleware: ``pages/dropped/decompressed_too_large``. The WARC keeps the
  response as received (archived closer to the downloader), and indexing never inflates it
  (crawler/archive/cdxj.py).

Scrapy's own warning names the URL and the sizes; the spider's errback logs no more.
"""

from __future__ import annotations

from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest

SCRAPY_COMPRESSION = "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware"


class SizeLimitsMiddleware(HttpCompressionMiddleware):
    """Scrapy's HttpCompressionMiddleware (in its place), counting the responses dropped for
    their size."""

    def process_response(self, request, response):
        try:
            return super().process_response(request, response)
        except IgnoreRequest:
            # The only request this middleware ignores: a body past DOWNLOAD_MAXSIZE inflated.
            self.stats.inc_value("pages/dropped/decompressed_too_large")
            raise

    def process_exception(self, request, exception):
        # Scrapy's HTTP handler cancels a download only when it passes DOWNLOAD_MAXSIZE.
        if isinstance(exception, DownloadCancelledError):
            self.stats.inc_value("pages/dropped/too_large")
        return None
