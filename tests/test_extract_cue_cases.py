"""Issue 15 on the fixture's own pages, in both themes: a post without a lead, a category
with no listing, and pages that each leave out one cue, extracted as the crawl does and
compared with the ground truth. (tests/test_crawl.py crawls the same pages whole.)"""

import pytest

from fixture_portal import build_site, render_article
from fixture_portal.generate import CUE_CASES, UNLISTED_SECTION
from fixture_portal.pages import Router
from fixture_portal.truth import expected_item
from tests.extraction import extract_item

BASE = "http://127.0.0.1:8000/"
THEMES = ("classic", "alt")
UNLISTED = {"name": "Tài liệu", "slug": UNLISTED_SECTION}
RUN_FIELDS = ("fetched_url", "crawl_id", "crawled_at", "warc", "version", "replaces")


@pytest.fixture(scope="module")
def site():
    return build_site(seed=1)


_extracted: dict[tuple, tuple[dict, dict]] = {}


def extracted(site, name: str, theme: str) -> tuple[dict, dict]:
    """(the item extracted from the case's page, its ground truth)."""
    key = (site.seed, name, theme)
    if key not in _extracted:
        a = site.article(site.hard_cases[name])
        item = extract_item(render_article(site, a.slug, theme, BASE), a.url(BASE), BASE)
        page_fields = {k: v for k, v in item.items() if k not in RUN_FIELDS}
        _extracted[key] = page_fields, expected_item(site, a, theme, BASE)
    return _extracted[key]


@pytest.mark.parametrize("name", CUE_CASES)
@pytest.mark.parametrize("theme", THEMES)
def test_cue_cases_extract_to_the_ground_truth(site, theme, name):
    item, expected = extracted(site, name, theme)
    assert item == expected


@pytest.mark.parametrize("name", ["no_sapo", "no_sapo_legacy", "unlisted_section_no_cues"])
@pytest.mark.parametrize("theme", THEMES)
def test_a_post_without_a_lead_has_no_sapo_and_keeps_every_paragraph(site, theme, name):
    a = site.article(site.hard_cases[name])
    item, _ = extracted(site, name, theme)
    assert a.sapo is None
    assert item["sapo"] is None
    assert item["body"] == "\n\n".join(a.paragraphs)


@pytest.mark.parametrize("theme", THEMES)
def test_a_lead_marked_by_the_theme_is_the_sapo(site, theme):
    # Bold paragraph (classic), div.lead (alt), <b> run of legacy markup, broken markup.
    for name in ("seed", "legacy", "malformed", "no_breadcrumb"):
        a = site.article(site.hard_cases[name])
        item, _ = extracted(site, name, theme)
        assert (item["sapo"], item["body"]) == (a.sapo, "\n\n".join(a.paragraphs)), name


# What the page says of the unlisted category, cue by cue: classic names it in its
# breadcrumb (text, no link) and article:section, and has category-<slug> on the post; alt
# has the breadcrumb only. Nothing else names it, and no listing lends it.
UNLISTED_SECTIONS = {
    ("classic", "unlisted_section"): UNLISTED,
    ("classic", "unlisted_section_no_breadcrumb"): UNLISTED,
    ("classic", "unlisted_section_no_meta"): UNLISTED,
    ("classic", "unlisted_section_no_post_class"): {"name": "Tài liệu", "slug": None},
    ("classic", "unlisted_section_no_cues"): None,
    ("alt", "unlisted_section"): {"name": "Tài liệu", "slug": None},
    ("alt", "unlisted_section_no_breadcrumb"): None,
    ("alt", "unlisted_section_no_meta"): {"name": "Tài liệu", "slug": None},
    ("alt", "unlisted_section_no_post_class"): {"name": "Tài liệu", "slug": None},
    ("alt", "unlisted_section_no_cues"): None,
}


@pytest.mark.parametrize(("theme", "name"), UNLISTED_SECTIONS)
def test_the_section_of_an_unlisted_category_is_read_from_its_page(site, theme, name):
    item, expected = extracted(site, name, theme)
    assert item["section"] == expected["section"] == UNLISTED_SECTIONS[theme, name]


@pytest.mark.parametrize("theme", THEMES)
def test_a_listed_section_is_null_where_the_page_names_none(site, theme):
    item, _ = extracted(site, "no_section_cues", theme)
    assert item["section"] is None
    for name in ("no_meta", "no_post_class"):
        a = site.article(site.hard_cases[name])
        section = site.section(a.section)
        assert extracted(site, name, theme)[0]["section"] == {
            "name": section.name,
            "slug": section.slug,
        }


def test_the_classic_modified_time_is_null_without_its_meta_tag(site):
    a = site.article(site.hard_cases["no_meta"])
    assert a.modified is not None
    assert extracted(site, "no_meta", "classic")[0]["modified_at"] is None


@pytest.mark.parametrize("theme", THEMES)
def test_the_unlisted_category_is_reachable_only_through_tin_khac(site, theme):
    router = Router(site, theme, BASE)
    section = site.section(UNLISTED_SECTION)
    assert not section.listed
    assert router.resolve(f"/{section.path}").status == 404
    assert f"/{section.path}" not in router.resolve("/").body.decode()
    posts = [a for a in site.articles if a.section == UNLISTED_SECTION]
    assert len(posts) == sum(unlisted for unlisted, *_ in CUE_CASES.values())
    only = set(site.tin_khac_only_urls(BASE))
    linked_from_listed = {
        link.canonical(BASE) for a in site.articles if a.listed for link in a.related
    }
    for a in posts:
        assert a.url(BASE) in only and a.url(BASE) in linked_from_listed
