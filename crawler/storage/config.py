"""Storage settings, read once from Scrapy settings into a typed object.

Every ``ARCHIVE_S3_*`` / ``ARCHIVE_UPLOAD_*`` setting is defined and documented
in ``settings/default.py``. Credentials come from Scrapy's own ``AWS_*``
settings when they are set and otherwise from boto3's standard chain
(environment, shared config and credentials files, profiles, instance roles),
which boto3 reads itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MB = 1024 * 1024


@dataclass(frozen=True)
class StorageConfig:
    multipart_threshold: int
    multipart_chunksize: int
    max_concurrency: int
    max_attempts: int
    connect_timeout: float
    read_timeout: float
    addressing_style: str = ""
    upload_concurrency: int = 1
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    endpoint_url: str | None = None
    region_name: str | None = None
    verify: bool | str | None = None

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
            ("ARCHIVE_UPLOAD_CONCURRENCY", self.upload_concurrency),
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

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values that must never be shown."""
        return tuple(s for s in (self.secret_access_key, self.session_token) if s)

    @classmethod
    def from_settings(cls, settings) -> StorageConfig:
        """From Scrapy ``Settings`` holding the project's defaults."""

        def text(name: str) -> str | None:
            value = settings.get(name)
            return str(value) if value not in (None, "") else None

        def number(name: str, kind):
            value = settings.get(name)
            if value in (None, ""):
                raise ValueError(f"{name} is not set (settings/default.py defines it)")
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
            upload_concurrency=number("ARCHIVE_UPLOAD_CONCURRENCY", int),
        )
