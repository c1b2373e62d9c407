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
