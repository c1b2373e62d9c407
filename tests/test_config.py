import pytest
from scrapy.settings import Settings

from crawler.config import ConfigError, PortalConfig


def settings(**overrides) -> Settings:
    values = Settings()
    values.setmodule("settings.default")
    values.update(overrides)
    return values


def test_defaults_point_at_the_real_portal():
    config = PortalConfig.from_settings(settings())
    assert config.url == "https://thanhphohaiphong.gov.vn/"
    assert config.urls.hosts == {"thanhphohaiphong.gov.vn"}
    assert config.sections == ()
    assert config.follow_related
    assert "Tin khác" in config.rules.related_headings


def test_a_local_portal_keeps_its_port_in_scope():
    config = PortalConfig.from_settings(settings(PORTAL_URL="http://127.0.0.1:8123"))
    assert config.url == "http://127.0.0.1:8123/"
    assert config.urls.in_scope("http://127.0.0.1:8123/a.html")
    assert not config.urls.in_scope("http://127.0.0.1:8124/a.html")


def test_configured_sections_and_extra_hosts():
    config = PortalConfig.from_settings(
        settings(
            PORTAL_SECTIONS="https://thanhphohaiphong.gov.vn/chuyen-muc/kinh-te/",
            PORTAL_EXTRA_HOSTS=["www.thanhphohaiphong.gov.vn"],
        )
    )
    assert config.sections == ("https://thanhphohaiphong.gov.vn/chuyen-muc/kinh-te/",)
    assert config.urls.in_scope("https://www.thanhphohaiphong.gov.vn/a.html")


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"PORTAL_URL": "ftp://example.org/"}, "PORTAL_URL"),
        ({"PORTAL_URL": "thanhphohaiphong.gov.vn"}, "PORTAL_URL"),
        ({"PORTAL_MAX_LISTING_PAGES": 0}, "PORTAL_MAX_LISTING_PAGES"),
        ({"PORTAL_ARTICLE_PATH": "(unclosed"}, "PORTAL_ARTICLE_PATH"),
        ({"PORTAL_TIMEZONE": "Mars/Olympus"}, "PORTAL_TIMEZONE"),
        ({"PORTAL_SELECTORS": {"titel": "h1"}}, "PORTAL_SELECTORS"),
        ({"PORTAL_SECTIONS": ["/chuyen-muc/x/"]}, "PORTAL_SECTIONS"),
    ],
)
def test_nonsense_is_rejected_naming_the_setting(overrides, message):
    with pytest.raises(ConfigError, match=message):
        PortalConfig.from_settings(settings(**overrides))
