"""Small helpers shared by component tests."""

import settings.default as default_settings


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
