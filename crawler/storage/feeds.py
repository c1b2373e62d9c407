"""Scrapy's S3 feed storage, storing the way the archive store does.

Registered for ``s3://`` feeds (``FEED_STORAGES``): any ``-o s3://…`` feed. Scrapy's
feed exporter writes the feed to a temporary file and hands it over at the end; the
upload carries a SHA-256 checksum the store verifies and is checked afterwards
(``S3Store.put_file``), with botocore set up for S3-compatible servers (checksums only
where required), retries with backoff and timeouts from the ``ARCHIVE_S3_*`` settings.
Credentials are Scrapy's ``AWS_*`` settings or boto3's chain, as for ``S3FeedStorage``.
(The crawl's own items feed is written in its spool and stored with its other files:
crawler/publishing/items_file.py.)
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import IO, Any

from scrapy.extensions.feedexport import S3FeedStorage

from crawler.storage.config import StorageConfig
from crawler.storage.s3 import S3Store

logger = logging.getLogger(__name__)


class ArchiveS3FeedStorage(S3FeedStorage):
    def __init__(
        self,
        uri: str,
        *args,
        storage_config: StorageConfig,
        feed_options: dict[str, Any] | None = None,
        **kwargs,
    ):
        super().__init__(uri, *args, feed_options=feed_options, **kwargs)
        # S3FeedStorage resolved the credentials (settings, or the URI's user:password).
        config = dataclasses.replace(
            storage_config,
            access_key_id=self.access_key,
            secret_access_key=self.secret_key,
            session_token=self.session_token,
            endpoint_url=self.endpoint_url,
            region_name=self.region_name,
        )
        self.archive_store = S3Store(self.bucketname, "", config)

    @classmethod
    def from_crawler(cls, crawler, uri: str, *, feed_options: dict[str, Any] | None = None):
        settings = crawler.settings
        return cls(
            uri,
            access_key=settings["AWS_ACCESS_KEY_ID"],
            secret_key=settings["AWS_SECRET_ACCESS_KEY"],
            session_token=settings["AWS_SESSION_TOKEN"],
            acl=settings["FEED_STORAGE_S3_ACL"] or None,
            endpoint_url=settings["AWS_ENDPOINT_URL"] or None,
            region_name=settings["AWS_REGION_NAME"] or None,
            feed_options=feed_options,
            storage_config=StorageConfig.from_settings(settings),
        )

    def _store_in_thread(self, file: IO[bytes]) -> None:
        try:
            file.flush()
            self.archive_store.put_file(Path(file.name), self.keyname)
        finally:
            file.close()
            self.archive_store.close()
