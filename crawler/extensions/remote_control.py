"""Scrapy's remote-control server, off unless an operator turns it on, and then said so.

Scrapy 2.19 starts it by default: an HTTP server on 127.0.0.1 that runs any Python sent
to ``/execute`` with a bearer token, which it writes to a job file in the user's profile.
Every process that shares the loopback can reach the port (in a Kubernetes pod, every
container). The crawl does not need it: ``settings/default.py`` turns it off. An operator
who sets ``REMOTE_CONTROL_ENABLED`` gets it, with a warning saying where it listens.
"""

from __future__ import annotations

import logging

from scrapy.extensions.remote_control import RemoteControl

logger = logging.getLogger(__name__)

SCRAPY_EXTENSION = "scrapy.extensions.remote_control.RemoteControl"


class AnnouncedRemoteControl(RemoteControl):
    """Scrapy's extension (NotConfigured when off), and a warning once it listens."""

    async def start(self) -> None:
        await super().start()
        # Scrapy's own attributes (Scrapy is pinned): set only once the server listens.
        if self._runner is None or self._job_file_path is None:
            return
        host, port = self._runner.addresses[0][:2]
        logger.warning(
            "REMOTE_CONTROL_ENABLED is on: Scrapy's remote-control server listens on "
            "http://%s:%d/ and runs any Python code sent to /execute with the token in %s; "
            "every process that shares this loopback (every container of a pod) can reach it",
            host,
            port,
            self._job_file_path,
        )
