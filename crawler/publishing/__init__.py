"""A crawl's files, from its spool into the archive store: stored and verified, indexed and
packaged, the manifest last. What a killed or cut-off run left is mended and stored by the
next run or by ``scrapy sync``, through the same code as a crawl's own files.

- ``spool``: a crawl's spool directory, its files' keys and the ledger of what is stored;
- ``spool_lock``: one running crawl (or sync) per spool;
- ``items_file``: the crawl's items feed in its spool, and mending a cut-off one;
- ``access``: probing the store before anything is fetched;
- ``storing``: the blocking work (``CrawlStorage``), for a crawl and for ``scrapy sync``;
- ``publisher``: the crawl's side of it, off the reactor thread (``ArchivePublisher``);
- ``manifest``, ``report``: what a crawl's manifest says.

The store itself (``crawler.storage``) only puts and verifies bytes; where files go under the
archive root is ``crawler.layout``.
"""
