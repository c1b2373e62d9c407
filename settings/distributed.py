"""Profile for one crawl across many worker processes (docs/distributed.md): the default
profile, with the frontier and the duplicate filter in Redis (scrapy-redis). Start the same
command, with the same ARCHIVE_URI and CRAWL_ID and REDIS_URL in the environment, on as many
processes or machines as you like: they make one crawl."""

import os

from settings.default import *  # noqa: F401,F403  (a profile is the defaults plus changes)

DISTRIBUTED_ENABLED = True
REDIS_URL = os.environ.get("REDIS_URL", "")
SCHEDULER = "crawler.distributed.scheduler.DistributedScheduler"
DUPEFILTER_CLASS = "crawler.distributed.scheduler.CrawlDupeFilter"
# The portal's pace kept in the same Redis, for all workers together (POLITENESS_REDIS_URL in
# settings/default.py; docs/crawling.md): N workers hit the portal no harder than one.
POLITENESS_REDIS_URL = os.environ.get("POLITENESS_REDIS_URL") or REDIS_URL
