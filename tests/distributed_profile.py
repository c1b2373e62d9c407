"""Profile of the distributed tests: the mirror profile (a local fixture portal) with the
distributed profile's scheduler (settings/distributed.py)."""

import settings.distributed as _distributed
from settings.mirror import *  # noqa: F401,F403

# After the mirror profile: they override its defaults.
DISTRIBUTED_ENABLED = _distributed.DISTRIBUTED_ENABLED
REDIS_URL = _distributed.REDIS_URL
SCHEDULER = _distributed.SCHEDULER
DUPEFILTER_CLASS = _distributed.DUPEFILTER_CLASS
