"""Re-extraction: an archived crawl's items made again from its WARCs, offline, by today's
extraction and item pipelines (``scrapy reextract``, docs/reextract.md)."""
