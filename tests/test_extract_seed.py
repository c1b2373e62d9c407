"""The one real article we have: its page, in both themes, extracts to the golden item."""

import json
from pathlib import Path

import pytest

from fixture_portal import build_site, render_article
from tests.extraction import extract_item

GOLDEN = json.loads(
    (Path(__file__).parent / "golden" / "quan-uy-ngo-quyen.expected.json").read_text("utf-8")
)
PORTAL = "https://thanhphohaiphong.gov.vn/"
SLUG = GOLDEN["url"].removeprefix(PORTAL).removesuffix(".html")


@pytest.fixture(scope="module")
def site():
    return build_site(seed=1)


@pytest.mark.parametrize("theme", ["classic", "alt"])
def test_seed_article_extracts_to_the_golden_item(site, theme):
    html = render_article(site, SLUG, theme=theme, base_url=PORTAL)
    item = extract_item(html, GOLDEN["url"], PORTAL)
    for field, expected in GOLDEN.items():
        if field == "images":
            assert [{"caption": i["caption"]} for i in item["images"]] == expected
        else:
            assert item[field] == expected, field
