"""Storage settings, read once from Scrapy settings into a typed object.

Credentials come from Scrapy's own ``AWS_*`` settings when they are set and
otherwise from boto3's standard chain (environment, shared config and
credentials files, profiles, instance roles), which boto3 reads itself.

Tuning defaults (``ARCHIVE_S3_*``) are the constants below until they move to
``settings/`` with the rest of the archive settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MB = 1024 * 1024

DEFAULTS = {
    # Files at least this big go up in parts of ARCHIVE_S3_MULTIPART_CHUNKSIZE.
    "ARCHIVE_S3_MULTIPART_THRESHOLD": 64 * MB,
    "ARCHIVE_S3_MULTIPART_CHUNKSIZE": 16 * MB,
    # Parts of one file in flight at once.
    "ARCHIVE_S3_MAX_CONCURRENCY": 4,
    # Attempts per request (botocore "standard" retry mode: backoff with jitter).
    "ARCHIVE_S3_MAX_ATTEMPTS": 5,
    "ARCHIVE_S3_CONNECT_TIMEOUT": 10.0,
    "ARCHIVE_S3_READ_TIMEOUT": 60.0,
    # "path" or "virtual"; empty: botocore's choice (or the AWS config file's).
    "ARCHIVE_S3_ADDRESSING_STYLE": "",
}


@dataclass(frozen=True)
class StorageConfig:
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    endpoint_url: str | None = None
    region_name: str | None = None
    verify: bool | str | None = None
    multipart_threshold: int = DEFAULTS["ARCHIVE_S3_MULTIPART_THRESHOLD"]
    multipart_chunksize: int = DEFAULTS["ARCHIVE_S3_MULTIPART_CHUNKSIZE"]
    max_concurrency: int = DEFAULTS["ARCHIVE_S3_MAX_CONCURRENCY"]
    max_attempts: int = DEFAULTS["ARCHIVE_S3_MAX_ATTEMPTS"]
    connect_timeout: float = DEFAULTS["ARCHIVE_S3_CONNECT_TIMEOUT"]
    read_timeout: float = DEFAULTS["ARCHIVE_S3_READ_TIMEOUT"]
    addressing_style: str = DEFAULTS["ARCHIVE_S3_ADDRESSING_STYLE"]

    def __post_init__(self):
        if self.multipart_chunksize < 5 * MB:
            raise ValueError(
                f"ARCHIVE_S3_MULTIPART_CHUNKSIZE={self.multipart_chunksize}: "
                "S3 parts are at least 5 MiB"
            )
        if self.multipart_threshold < self.multipart_chunksize:
            raise ValueError(
                f"ARCHIVE_S3_MULTIPART_THRESHOLD={self.multipart_threshold} is below "
                f"ARCHIVE_S3_MULTIPART_CHUNKSIZE={self.multipart_chunksize}"
            )
        for name, value in (
            ("ARCHIVE_S3_MAX_CONCURRENCY", self.max_concurrency),
            ("ARCHIVE_S3_MAX_ATTEMPTS", self.max_attempts),
        ):
            if value < 1:
                raise ValueError(f"{name}={value}: must be at least 1")
        for name, value in (
            ("ARCHIVE_S3_CONNECT_TIMEOUT", self.connect_timeout),
            ("ARCHIVE_S3_READ_TIMEOUT", self.read_timeout),
        ):
            if value <= 0:
                raise ValueError(f"{name}={value}: must be positive")
        if self.addressing_style not in ("", "auto", "path", "virtual"):
            raise ValueError(
                f"ARCHIVE_S3_ADDRESSING_STYLE={self.addressing_style!r}: "
                "use 'path', 'virtual' or 'auto'"
            )
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together")

    @classmethod
    def from_settings(cls, settings) -> StorageConfig:
        """From a Scrapy ``Settings`` (or any mapping with ``get``)."""

        def text(name: str) -> str | None:
            value = settings.get(name)
            return str(value) if value not in (None, "") else None

        def number(name: str, kind):
            value = settings.get(name)
            if value in (None, ""):
                return DEFAULTS[name]
            try:
                return kind(value)
            except (TypeError, ValueError):
                raise ValueError(f"{name}={value!r}: not a number") from None

        verify = settings.get("AWS_VERIFY")
        if isinstance(verify, str) and verify.lower() in ("false", "0", "no"):
            verify = False
        elif isinstance(verify, str) and verify.lower() in ("true", "1", "yes"):
            verify = True
        return cls(
            access_key_id=text("AWS_ACCESS_KEY_ID"),
            secret_access_key=text("AWS_SECRET_ACCESS_KEY"),
            session_token=text("AWS_SESSION_TOKEN"),
            endpoint_url=text("AWS_ENDPOINT_URL"),
            region_name=text("AWS_REGION_NAME"),
            verify=verify,
            multipart_threshold=number("ARCHIVE_S3_MULTIPART_THRESHOLD", int),
            multipart_chunksize=number("ARCHIVE_S3_MULTIPART_CHUNKSIZE", int),
            max_concurrency=number("ARCHIVE_S3_MAX_CONCURRENCY", int),
            max_attempts=number("ARCHIVE_S3_MAX_ATTEMPTS", int),
            connect_timeout=number("ARCHIVE_S3_CONNECT_TIMEOUT", float),
            read_timeout=number("ARCHIVE_S3_READ_TIMEOUT", float),
            addressing_style=text("ARCHIVE_S3_ADDRESSING_STYLE") or "",
        )
