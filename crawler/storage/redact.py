"""Keep credentials out of the logs.

Scrapy logs every setting that differs from its defaults when a crawler starts
("Overridden settings: …"), so a secret given as ``-s AWS_SECRET_ACCESS_KEY=…``
would land in the log. The add-on installs a filter on that logger that blanks
the values of the secret settings in every message it logs. (The environment
or a profile is the better place for keys: a command line is visible to every
user of the machine.)
"""

from __future__ import annotations

import logging

from crawler.storage.errors import scrub

SECRET_SETTINGS = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
# The loggers that print settings.
SETTINGS_LOGGERS = ("scrapy.crawler", "scrapy.addons", "scrapy.middleware")


class RedactSecrets(logging.Filter):
    """Replaces the secrets in a record's message with ``***``."""

    def __init__(self):
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            scrubbed = scrub(message, *self.secrets)
            if scrubbed != message:
                record.msg, record.args = scrubbed, None
        return True


def hide_secrets_in_logs(settings) -> None:
    """Blank the values of the secret settings in what Scrapy logs about settings."""
    secrets = {str(settings.get(name)) for name in SECRET_SETTINGS if settings.get(name)}
    if not secrets:
        return
    for name in SETTINGS_LOGGERS:
        logger = logging.getLogger(name)
        existing = [f for f in logger.filters if isinstance(f, RedactSecrets)]
        redact = existing[0] if existing else RedactSecrets()
        redact.secrets |= secrets
        if not existing:
            logger.addFilter(redact)
