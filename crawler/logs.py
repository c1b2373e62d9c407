"""JSON log lines (LOG_JSON) on standard error, one object per line, for log collectors.

Scrapy's root handler writes text to standard error unless LOG_ENABLED is off, which LOG_JSON
turns off (in the settings module, so even the first lines stay out), and this handler takes
its place from LOG_LEVEL up. A LOG_FILE, if given, still gets Scrapy's text lines. Each JSON
line holds `time` (ISO 8601, UTC), `level`, `logger`, `message`, any structured extra a
component adds (e.g. the progress line's counts) and `exc_info` for tracebacks.
"""

from __future__ import annotations

import logging
import sys
import time

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

# Objects Scrapy passes as log extras (the spider, an item, a response, a failure): their
# text is already in the message; serialised whole they would be noise, or fail.
SCRAPY_OBJECT_EXTRAS = ("spider", "item", "request", "response", "failure", "crawler", "taskName")

_handler: logging.Handler | None = None


def json_formatter() -> logging.Formatter:
    formatter = JsonFormatter(
        "{asctime}{levelname}{name}{message}",
        style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%SZ",
        json_ensure_ascii=False,
        reserved_attrs=[*RESERVED_ATTRS, *SCRAPY_OBJECT_EXTRAS],
        # Anything else a component adds that JSON cannot hold is written as its text.
        json_default=str,
    )
    formatter.converter = time.gmtime
    return formatter


def install_json_handler(settings) -> None:
    """Log every record as a JSON line to standard error, from LOG_LEVEL up."""
    global _handler  # noqa: PLW0603 -- one handler per process, replaced, never doubled
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
        _handler.close()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter())
    handler.setLevel(settings.get("LOG_LEVEL"))
    root.setLevel(logging.NOTSET)
    root.addHandler(handler)
    _handler = handler
