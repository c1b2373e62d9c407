"""Small helpers shared by component tests."""

import time

import settings.default as default_settings


def wait_for(condition, what: str, deadline: float = 180.0) -> None:
    """Poll ``condition`` until it holds; fail after ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def project_settings(**overrides) -> dict:
    """The default profile as a dict, without the add-on (components are built one by one)."""
    values = {k: getattr(default_settings, k) for k in dir(default_settings) if k.isupper()}
    values.pop("ADDONS")
    values.update(overrides)
    return values


def storage_config(**overrides):
    """A StorageConfig from the project's defaults and ``overrides`` (setting names)."""
    from scrapy.settings import Settings

    from crawler.storage import StorageConfig

    return StorageConfig.from_settings(Settings(project_settings(**overrides)))
