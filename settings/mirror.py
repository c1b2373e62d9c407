"""Profile for a local mirror or test server: still obeys robots.txt, no throttling unless
the server asks for it (429, 503, Retry-After)."""

from settings.default import *  # noqa: F401,F403  (a profile is the defaults plus changes)

AUTOTHROTTLE_ENABLED = False
DOWNLOAD_DELAY = 0
CONCURRENT_REQUESTS = 64
CONCURRENT_REQUESTS_PER_DOMAIN = 64
DOWNLOAD_TIMEOUT = 30
RETRY_TIMES = 2
# A mirror can rate-limit too: the same waits and slowing down, on a shorter scale
# (Retry-After is honoured as in the default profile).
RETRY_BACKOFF_BASE = 0.5
RETRY_BACKOFF_MAX = 10.0
BACKOFF_START_DELAY = 0.5
BACKOFF_MAX_DELAY = 10.0
