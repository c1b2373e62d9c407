"""Scrapy settings profiles.

``settings.default`` holds every default (documented where defined) and is
polite enough for the real portal; the other modules are profiles that start
from it and change what differs. Pick one the Scrapy way:
``SCRAPY_SETTINGS_MODULE=settings.mirror scrapy crawl portal …``.
"""
