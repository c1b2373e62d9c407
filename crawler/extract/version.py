"""Which extractor made an item: raised whenever a change to crawler/extract/ (or to the
cleaning pipelines) changes what an archived page extracts to. ``scrapy reextract`` stamps
it on the items it makes and names their file after it (crawler/layout.py)."""

# 1: the crawl's extraction before issue 15; 2: sapo and section only from what the page marks.
EXTRACTOR_VERSION = 2
