"""StorageConfig from Scrapy settings."""

from __future__ import annotations

import pytest
from scrapy.settings import Settings

import settings.default as defaults
from crawler.storage import StorageConfig
from tests.helpers import project_settings


def test_defaults_from_the_project_settings():
    config = StorageConfig.from_settings(Settings(project_settings()))
    assert config.access_key_id is None and config.secret_access_key is None
    assert config.endpoint_url is None and config.region_name is None
    assert config.multipart_threshold == defaults.ARCHIVE_S3_MULTIPART_THRESHOLD
    assert config.max_attempts == defaults.ARCHIVE_S3_MAX_ATTEMPTS
    assert config.upload_concurrency == defaults.ARCHIVE_UPLOAD_CONCURRENCY


def test_a_missing_setting_is_named():
    with pytest.raises(ValueError, match="ARCHIVE_S3_MULTIPART_THRESHOLD is not set"):
        StorageConfig.from_settings(Settings())


def test_scrapy_aws_settings_and_tuning():
    config = StorageConfig.from_settings(
        Settings(
            project_settings(
                **{
                    "AWS_ACCESS_KEY_ID": "key-id",
                    "AWS_SECRET_ACCESS_KEY": "very-secret",
                    "AWS_SESSION_TOKEN": "token-secret",
                    "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
                    "AWS_REGION_NAME": "ap-southeast-1",
                    "AWS_VERIFY": "false",
                    "ARCHIVE_S3_MULTIPART_THRESHOLD": "10485760",
                    "ARCHIVE_S3_MULTIPART_CHUNKSIZE": 5 * 1024 * 1024,
                    "ARCHIVE_S3_MAX_CONCURRENCY": "2",
                    "ARCHIVE_S3_CONNECT_TIMEOUT": "1.5",
                    "ARCHIVE_S3_ADDRESSING_STYLE": "path",
                }
            )
        )
    )
    assert config.access_key_id == "key-id"
    assert config.secret_access_key == "very-secret"
    assert config.endpoint_url == "http://127.0.0.1:9000"
    assert config.region_name == "ap-southeast-1"
    assert config.verify is False
    assert config.multipart_threshold == 10 * 1024 * 1024
    assert config.max_concurrency == 2
    assert config.connect_timeout == 1.5
    assert config.addressing_style == "path"
    assert "very-secret" not in repr(config)
    assert "token-secret" not in repr(config)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"ARCHIVE_S3_MULTIPART_CHUNKSIZE": 1024}, "at least 5 MiB"),
        (
            {
                "ARCHIVE_S3_MULTIPART_THRESHOLD": 6 * 1024 * 1024,
                "ARCHIVE_S3_MULTIPART_CHUNKSIZE": 8 * 1024 * 1024,
            },
            "is below",
        ),
        ({"ARCHIVE_S3_MAX_ATTEMPTS": 0}, "at least 1"),
        ({"ARCHIVE_S3_READ_TIMEOUT": "-1"}, "must be positive"),
        ({"ARCHIVE_S3_MAX_CONCURRENCY": "many"}, "not a number"),
        ({"ARCHIVE_S3_ADDRESSING_STYLE": "sideways"}, "use 'path'"),
        ({"AWS_ACCESS_KEY_ID": "only-the-id"}, "go together"),
    ],
)
def test_nonsense_is_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        StorageConfig.from_settings(Settings(project_settings(**settings)))
