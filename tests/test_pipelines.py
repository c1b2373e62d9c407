"""Component tests: each pipeline built from a crawler, fed an item."""

import unicodedata

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from crawler.items import ArticleItem
from crawler.pipelines.clean import CleanTextPipeline
from crawler.pipelines.dates import DatesPipeline, parse_portal_date
from crawler.pipelines.stamp import StampPipeline, content_sha256
from crawler.pipelines.validate import DeduplicationPipeline, ValidationPipeline
from crawler.spiders.portal import PortalSpider
from tests.helpers import project_settings


@pytest.fixture
def crawler():
    settings = project_settings(CRAWL_ID="20260101000000-abcdef")
    crawler = get_crawler(PortalSpider, settings_dict=settings)
    crawler.stats.open_spider()
    return crawler


def item(**fields) -> ArticleItem:
    values = {
        "url": "https://h/a.html",
        "fetched_url": "https://h/a.html",
        "title": "T",
        "body": "B",
    }
    values.update(fields)
    return ArticleItem(**values)


def test_clean_makes_nfc_single_spaced_text_and_drops_furniture(crawler):
    pipeline = CleanTextPipeline.from_crawler(crawler)
    nfd = unicodedata.normalize("NFD", "Quận ủy Ngô Quyền")
    result = pipeline.process_item(
        item(
            title=f"  {nfd}\u00a0 hội  nghị ",
            body=f"Đoạn\u200b một.\n\n\n  QR CODE: {nfd}\n\nĐoạn   hai.",
            images=[{"url": "https://h/i.jpg", "caption": " "}],
            section={"name": " Kinh  tế ", "slug": "kinh-te"},
        )
    )
    assert result.title == "Quận ủy Ngô Quyền hội nghị"
    assert unicodedata.is_normalized("NFC", result.title)
    assert result.body == "Đoạn một.\n\nĐoạn hai."
    assert result.images == [{"url": "https://h/i.jpg", "caption": None}]
    assert result.section == {"name": "Kinh tế", "slug": "kinh-te"}
    assert crawler.stats.get_value("items/furniture_removed") == 1


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("31/03/2023 07:45", "2023-03-31T07:45:00+07:00"),
        ("1/2/2019 7:05", "2019-02-01T07:05:00+07:00"),
        ("2023-03-31T07:45:00+07:00", "2023-03-31T07:45:00+07:00"),
        ("2023-03-31T00:45:00+00:00", "2023-03-31T07:45:00+07:00"),
        ("2023-03-31T00:45:00Z", "2023-03-31T07:45:00+07:00"),
        ("2023-03-31T07:45:00", "2023-03-31T07:45:00+07:00"),
        (None, None),
    ],
)
def test_portal_dates(raw, expected):
    from zoneinfo import ZoneInfo

    assert parse_portal_date(raw, ZoneInfo("Asia/Ho_Chi_Minh")) == expected


def test_dates_pipeline_counts_unparseable_dates_and_nulls_unmodified(crawler):
    pipeline = DatesPipeline.from_crawler(crawler)
    same = pipeline.process_item(
        item(published_at="31/03/2023 07:45", modified_at="2023-03-31T00:45:00+00:00")
    )
    assert same.published_at == "2023-03-31T07:45:00+07:00"
    assert same.modified_at is None
    bad = pipeline.process_item(item(published_at="hôm qua"))
    assert bad.published_at is None
    assert crawler.stats.get_value("items/bad_date/published_at") == 1


@pytest.mark.parametrize("missing", ["title", "body", "url"])
def test_validation_drops_items_missing_a_required_field(crawler, missing):
    pipeline = ValidationPipeline.from_crawler(crawler)
    with pytest.raises(DropItem, match=f"no {missing}"):
        pipeline.process_item(item(**{missing: None}))
    assert crawler.stats.get_value(f"items/dropped/no_{missing}") == 1


def test_validation_keeps_a_dateless_item_but_counts_it(crawler):
    pipeline = ValidationPipeline.from_crawler(crawler)
    assert pipeline.process_item(item()) is not None
    assert crawler.stats.get_value("items/missing/published_at") == 1


def test_deduplication_by_canonical_url(crawler):
    pipeline = DeduplicationPipeline.from_crawler(crawler)
    pipeline.process_item(item())
    with pytest.raises(DropItem, match="duplicate"):
        pipeline.process_item(item(fetched_url="https://h/old-slug.html"))
    pipeline.process_item(item(url="https://h/b.html"))
    assert crawler.stats.get_value("items/dropped/duplicate") == 1


def test_stamp_sets_digest_and_crawl_id(crawler):
    stamped = StampPipeline.from_crawler(crawler).process_item(item(sapo="S"))
    assert stamped.crawl_id == "20260101000000-abcdef"
    assert stamped.content_sha256 == content_sha256("T", "S", "B")
    assert content_sha256("T", "S", "B") != content_sha256("T", "SB", "")
