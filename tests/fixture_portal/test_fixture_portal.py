"""The fixture portal itself: deterministic, faithful to the seed, every hard case present."""

from __future__ import annotations

import hashlib
import html
import json
import re
import unicodedata
import urllib.robotparser
from collections import deque
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import lxml.html
import pytest

from fixture_portal import build_site, expected_items, render_article
from fixture_portal.__main__ import main as cli_main
from fixture_portal.feeds import robots_txt, rss, sitemap_post_page
from fixture_portal.generate import CUE_CASES
from fixture_portal.pages import Router

LIVE = "https://thanhphohaiphong.gov.vn/"
BASE = "http://127.0.0.1:8000/"
ROOT = Path(__file__).resolve().parents[2]
SEED_DIR = ROOT / "fixture_portal" / "data"
EXPECTED_SEED = {
    "title": "Quận ủy Ngô Quyền chủ động đổi mới, sáng tạo trong thực hiện các chỉ tiêu nhiệm vụ "
    "ngay những tháng đầu năm",
    "published_at": "2023-03-31T07:45:00+07:00",
    "author": "Trâm Bầu",
    "captions": ["Đồng chí Đào Khánh Hà, Trưởng Ban Tuyên giáo Thành ủy dự và chỉ đạo Hội nghị."],
}
ITEM_KEYS = {
    "url",
    "post_id",
    "section",
    "title",
    "sapo",
    "body",
    "author",
    "published_at",
    "modified_at",
    "images",
    "related",
    "source",
    "language",
    "content_sha256",
}


@pytest.fixture(scope="module")
def site():
    return build_site(seed=1, n_articles=160)


def visible_text(page: str) -> str:
    root = lxml.html.fromstring(page)
    for node in root.xpath("//head|//script|//style"):
        node.drop_tree()
    return " ".join(" ".join(root.itertext()).split())


def test_same_seed_same_site_and_html(site):
    again = build_site(seed=1, n_articles=160)
    assert again.articles == site.articles
    assert again.hard_cases == site.hard_cases
    for name in ("seed", "nfd", "legacy", "photon"):
        slug = site.hard_cases[name]
        for theme in ("classic", "alt"):
            page = render_article(site, slug, theme, BASE)
            assert render_article(again, slug, theme, BASE) == page
    other = build_site(seed=2, n_articles=160)
    assert [a.title for a in other.articles] != [a.title for a in site.articles]


def test_size_and_spread(site):
    real = [a for a in site.articles if a.kind == "article"]
    assert len(real) == 160 + len(CUE_CASES)
    assert {a.published.year for a in real} == set(range(2019, 2027))
    assert len({a.title for a in real}) == len(real)
    assert all(re.fullmatch(r"[a-z0-9-]+", a.slug) for a in site.articles)
    assert len({a.section for a in real}) == len(site.sections) >= 7
    big = build_site(seed=3, n_articles=2500)
    assert sum(a.kind == "article" for a in big.articles) == 2500 + len(CUE_CASES)


@pytest.mark.parametrize("theme", ["classic", "alt"])
def test_seed_page_shows_the_seed_text_in_order(site, theme):
    page = render_article(site, site.hard_cases["seed"], theme, LIVE)
    text = visible_text(page)
    position = 0
    seed_lines = (SEED_DIR / "quan-uy-ngo-quyen.txt").read_text(encoding="utf-8").splitlines()
    for line in filter(None, (" ".join(line.split()) for line in seed_lines)):
        found = text.find(line, position)
        assert found >= 0, f"seed line missing or out of order: {line[:60]!r}"
        position = found + len(line)


def test_seed_item_matches_the_design_golden(site):
    golden = json.loads(
        (ROOT / "tests" / "golden" / "quan-uy-ngo-quyen.expected.json").read_text(encoding="utf-8")
    )
    url = site.hard_case_url("seed", LIVE)
    item = expected_items(site, "classic", LIVE)[url]
    assert item["url"] == golden["url"] == url
    for key in ("title", "published_at", "sapo", "body", "author", "language"):
        assert item[key] == golden[key], key
    assert [i["caption"] for i in item["images"]] == [i["caption"] for i in golden["images"]]
    assert item["title"] == EXPECTED_SEED["title"]
    assert item["source"].startswith("https://baohaiphong.vn/")


@pytest.mark.parametrize("theme", ["classic", "alt"])
def test_items_are_clean_and_complete(site, theme):
    items = expected_items(site, theme, BASE)
    assert len(items) == 159 + len(CUE_CASES)  # every real article but the disallowed one
    for url, item in items.items():
        assert set(item) == ITEM_KEYS and item["url"] == url
        for key in ("title", "sapo", "author"):
            value = item[key]
            if value is not None:
                assert value == unicodedata.normalize("NFC", " ".join(value.split()))
        assert all(p == " ".join(p.split()) for p in item["body"].split("\n\n"))
        digest = hashlib.sha256(
            f"{item['title']}\n\n{item['sapo'] or ''}\n\n{item['body']}".encode()
        ).hexdigest()
        assert item["content_sha256"] == digest
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00\+07:00", item["published_at"])
        assert len(item["related"]) == 8
        if theme == "alt":
            assert item["post_id"] is None and item["modified_at"] is None
        else:
            assert isinstance(item["post_id"], int)


def test_encoding_quirks(site):
    nfd = render_article(site, site.hard_cases["nfd"], "classic", BASE)
    assert nfd == unicodedata.normalize("NFD", nfd) != unicodedata.normalize("NFC", nfd)
    entities = render_article(site, site.hard_cases["entities"], "alt", BASE)
    title = site.article(site.hard_cases["entities"]).title
    assert re.search(r"&[a-z]+;", entities) and re.search(r"&#\d+;", entities)
    assert title not in entities and title in html.unescape(entities)
    legacy = render_article(site, site.hard_cases["legacy"], "classic", BASE)
    assert all(tag in legacy for tag in ("<font ", "<b>", "<center>", "<br><br>"))
    assert "<p>" not in legacy.split('<div class="entry-content">')[1].split("</article>")[0]


@pytest.mark.parametrize("theme", ["classic", "alt"])
def test_malformed_page_recovers_with_lxml(site, theme):
    article = site.article(site.hard_cases["malformed"])
    page = render_article(site, article.slug, theme, BASE)
    # The stray </div>s close the theme's content container early...
    container = lxml.html.fromstring(page).xpath(
        '//div[@class="entry-content" or @class="news-content"]'
    )[0]
    assert article.paragraphs[-1] not in container.text_content()
    # ...yet everything is still there, in reading order.
    text = visible_text(page)
    position = 0
    for part in (article.title, article.sapo, *article.paragraphs, article.author):
        position = text.index(part, position)


def test_article_properties(site):
    items = expected_items(site, "classic", BASE)
    item = {
        name: items[site.hard_case_url(name, BASE)]
        for name in (
            "no_author",
            "initials_author",
            "source_line",
            "no_image",
            "modified",
            "no_goc",
            "photon",
        )
    }
    assert item["no_author"]["author"] is None
    assert item["initials_author"]["author"] == "V.H.N"
    assert item["source_line"]["source"] == "haiphong.gov.vn"
    assert "Nguồn. haiphong.gov.vn" in render_article(
        site, site.hard_cases["source_line"], "classic", BASE
    )
    assert item["no_image"]["images"] == []
    assert item["modified"]["modified_at"] > item["modified"]["published_at"]
    modified = site.hard_cases["modified"]
    assert "article:modified_time" in render_article(site, modified, "classic", BASE)
    assert "modified" not in render_article(site, modified, "alt", BASE)
    assert item["no_goc"]["source"] is None
    assert ">Gốc<" not in render_article(site, site.hard_cases["no_goc"], "classic", BASE)
    photon = render_article(site, site.hard_cases["photon"], "classic", BASE)
    assert "https://i1.wp.com/127.0.0.1:8000/wp-content/uploads/" in photon
    assert item["photon"]["images"][0]["url"].startswith(BASE + "wp-content/uploads/")
    assert len(site.hard_cases["long_slug"]) > 160
    assert site.hard_cases["digit_slug"][0].isdigit()


def test_link_cases_are_planted(site):
    related = [link for a in site.articles for link in a.related]
    canonical = {link.canonical(BASE) for link in related}
    for url in (
        *site.aliases(BASE),
        *site.tin_khac_only_urls(BASE),
        site.redirect_loop_urls(BASE)[0],
        site.not_found_url(BASE),
        site.server_error_url(BASE),
    ):
        assert url in canonical
    assert len(site.tin_khac_only_urls(BASE)) >= 3
    targets = [link.target for link in related]
    for marker in ("?utm_source=", "?fbclid=", "#comments", ".html/", "/amp"):
        assert any(marker in t for t in targets), marker
    assert any(t.startswith("https://haiphong.gov.vn/") for t in targets)
    listed = [a.listing_target for a in site.articles if a.listed]
    assert any(t.endswith("/amp") for t in listed) and any("?utm_" in t for t in listed)
    bad = {page["kind"]: page for page in site.expected_bad_pages(BASE)}
    assert set(bad) >= {"empty", "not_html", "no_title", "not_found", "server_error"}
    listed_slugs = {a.slug for a in site.articles if a.listed}
    for kind in ("empty", "not_html", "no_title"):
        assert site.hard_cases[kind] in listed_slugs


def test_robots_and_hidden_articles(site):
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(robots_txt(BASE).splitlines())
    disallowed = site.disallowed_urls(BASE)
    assert disallowed and not any(robots.can_fetch("bot", url) for url in disallowed)
    items = expected_items(site, "classic", BASE)
    assert not set(disallowed) & set(items)
    assert all(robots.can_fetch("bot", url) for url in items)
    assert site.hard_cases["disallowed"] in {a.slug for a in site.listing("xay-dung-dang")}
    hidden = set(site.tin_khac_only_urls(BASE))
    published = sitemap_post_page(site, BASE, 1) + rss(site, BASE)
    assert not any(url in published for url in hidden)
    for theme in ("classic", "alt"):
        router = Router(site, theme, BASE)
        pages = ["/", *(f"/{s.path}" for s in site.sections)]
        assert not any(url in router.resolve(p).body.decode() for p in pages for url in hidden)


def canonical_article_url(url: str) -> str:
    """What a crawler keys an article link by: no query, fragment, trailing '/' or '/amp'."""
    url = url.split("#")[0]
    head = url.split("?")[0].rstrip("/").removesuffix("/amp")
    return head if head.endswith(".html") else url


def scripted_links(router: Router, doc) -> list[str]:
    """What the scripted section's scripts add: Tin khác from the REST API, "Xem thêm" pages."""
    links = []
    for api in doc.xpath("//@data-hp-related | //@data-hp-more"):
        target = api[len(BASE) - 1 :]
        while target:
            response = router.resolve(target)
            assert response.status == 200, target
            links += [post["link"] for post in json.loads(response.body)]
            total = int(dict(response.headers).get("X-WP-TotalPages", "1"))
            page = re.search(r"([?&]page=)(\d+)", target)
            more = page is not None and int(page.group(2)) < total
            target = more and target.replace(
                page.group(0), page.group(1) + str(int(page.group(2)) + 1)
            )
    return links


@pytest.mark.parametrize("theme", ["classic", "alt"])
def test_every_expected_item_is_reachable_from_home(site, theme):
    """Walk menu -> listings -> articles -> Tin khác, obeying robots, skipping the traps;
    in the scripted section, do what its scripts do."""
    router = Router(site, theme, BASE)
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(robots_txt(BASE).splitlines())
    seen, queue, articles = {BASE}, deque([BASE]), set()
    while queue:
        url = queue.popleft()
        response = router.resolve(url[len(BASE) - 1 :])
        if response.status == 301:
            links = [dict(response.headers)["Location"]]
        elif (
            response.status == 200
            and response.content_type.startswith("text/html")
            and response.body
        ):
            if url.endswith(".html"):
                articles.add(url)
            doc = lxml.html.fromstring(response.body)
            links = doc.xpath("//a/@href") + scripted_links(router, doc)
        else:
            continue
        for href in links:
            link = canonical_article_url(urljoin(url, href))
            path = urlsplit(link).path
            if (
                not link.startswith(BASE)
                or "?" in link
                or link in seen
                or path.startswith(("/lich/", site.trap_prefix))
                or not robots.can_fetch("bot", link)
            ):
                continue
            seen.add(link)
            queue.append(link)
    assert set(expected_items(site, theme, BASE)) <= articles


def test_truth_command_writes_json_lines(site, tmp_path):
    cli_main(["truth", "--base-url", BASE, "--theme", "alt", "--out", str(tmp_path)])
    lines = (tmp_path / "expected_items.jsonl").read_text(encoding="utf-8").splitlines()
    items = [json.loads(line) for line in lines]
    assert {i["url"]: i for i in items} == expected_items(site, "alt", BASE)
