import pytest
from scrapy.settings import Settings

from crawler.config import ConfigError, LimitsConfig, PortalConfig, StoredConfig


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


def test_crawl_limits_have_defaults_that_fit_the_portal():
    limits = LimitsConfig.from_settings(settings())
    assert limits.links_per_page >= 100  # a real page links tens of articles
    assert limits.related_depth >= 10
    assert limits.stale_listing_pages >= 2
    # A full crawl at the polite rate (~1 page/s) is more than a day, cut at 23 hours.
    assert 0 < limits.crawl_seconds < 24 * 3600
    assert limits.crawl_pages >= 100_000


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"PORTAL_MAX_LINKS_PER_PAGE": 0}, "PORTAL_MAX_LINKS_PER_PAGE"),
        ({"PORTAL_MAX_RELATED_DEPTH": "deep"}, "PORTAL_MAX_RELATED_DEPTH"),
        ({"PORTAL_MAX_STALE_LISTING_PAGES": -1}, "PORTAL_MAX_STALE_LISTING_PAGES"),
        ({"CLOSESPIDER_PAGECOUNT": -5}, "CLOSESPIDER_PAGECOUNT"),
        ({"CLOSESPIDER_TIMEOUT": "nan"}, "CLOSESPIDER_TIMEOUT"),
        ({"CLOSESPIDER_TIMEOUT": "soon"}, "CLOSESPIDER_TIMEOUT"),
    ],
)
def test_nonsense_crawl_limits_are_rejected_naming_the_setting(overrides, message):
    with pytest.raises(ConfigError, match=message):
        LimitsConfig.from_settings(settings(**overrides))


def test_no_crawl_limit_is_zero():
    limits = LimitsConfig.from_settings(settings(CLOSESPIDER_PAGECOUNT=0, CLOSESPIDER_TIMEOUT=0))
    assert (limits.crawl_pages, limits.crawl_seconds) == (0, 0)


def test_what_a_crawl_stores_defaults_to_every_byte_once():
    stored = StoredConfig.from_settings(settings())
    assert stored == StoredConfig(wacz=False, wacz_page_text=False, items_gzip_level=6)
    asked = StoredConfig.from_settings(settings(WACZ_ENABLED=True, WACZ_PAGE_TEXT=True))
    assert asked.wacz and asked.wacz_page_text


@pytest.mark.parametrize("level", [0, 10, -1])
def test_an_items_gzip_level_out_of_range_is_rejected_naming_the_setting(level):
    with pytest.raises(ConfigError, match="ITEMS_FEED_GZIP_LEVEL"):
        StoredConfig.from_settings(settings(ITEMS_FEED_GZIP_LEVEL=level))
