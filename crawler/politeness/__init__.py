"""Politeness that a firewall respects: retries wait (``Retry-After`` when the server
says, else an exponential backoff with jitter) outside the downloader, and a site that
answers 429/503 is crawled more slowly until it answers normally again.

- ``retry.PoliteRetryMiddleware`` replaces Scrapy's RetryMiddleware: it decides whether
  and when to retry;
- ``parking.RetryParking`` holds retries until their time, out of the engine, so that
  nothing else waits for them and a closing crawl abandons them at once;
- ``backoff.SiteBackoffMiddleware`` widens the delay of the downloader slot of a site
  that answers 429/503, and narrows it again as the site answers normally;
- ``shared.SharedPolitenessMiddleware`` (with a Redis URL: a distributed crawl) makes that
  pace the portal's rather than the process's: every worker takes each request's turn from
  Redis (``pace.SharedPace``), so that N workers hit the portal no harder than one.
"""
