"""Profile for a local mirror or test server: still obeys robots.txt, no throttling."""

from settings.default import *  # noqa: F401,F403  (a profile is the defaults plus changes)

AUTOTHROTTLE_ENABLED = False
DOWNLOAD_DELAY = 0
CONCURRENT_REQUESTS = 64
CONCURRENT_REQUESTS_PER_DOMAIN = 64
DOWNLOAD_TIMEOUT = 30
RETRY_TIMES = 2
