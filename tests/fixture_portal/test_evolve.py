"""evolve_site(): the portal a few hours later, served over HTTP, for incremental crawls."""

from __future__ import annotations

import http.client
import json
import re
from dataclasses import replace
from datetime import UTC, timedelta
from urllib.parse import quote, urlsplit

import pytest

from fixture_portal import FixturePortal, build_site, evolve_site, expected_items
from fixture_portal.model import PAGE_SIZE, SCRIPTED_SECTION, TRAP_SECTION
from fixture_portal.scripted import category_id, related_api

API = "/wp-json/wp/v2/posts"
BASE = "http://127.0.0.1:8000/"
WP_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


@pytest.fixture(scope="module")
def site():
    return build_site(seed=1, n_articles=160)


@pytest.fixture(scope="module")
def evolved(site):
    return evolve_site(site)


@pytest.fixture(scope="module")
def portal(evolved):
    with FixturePortal(evolved, theme="classic") as running:
        yield running


def get(portal, target, **headers):
    connection = http.client.HTTPConnection(portal.host, portal.port, timeout=10)
    try:
        connection.request("GET", target, headers=headers)
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


def api(portal, query):
    response, body = get(portal, f"{API}?{query}")
    return response, json.loads(body)


def local_iso(when):
    """A time as a modified_after value WordPress reads as site time (no offset)."""
    return when.replace(tzinfo=None).isoformat()


def test_evolve_is_deterministic_and_adds_exactly_the_new_and_changed_posts(site, evolved):
    again = evolve_site(site)
    assert again.articles == evolved.articles and again.evolution == evolved.evolution
    assert site.evolution is None and site.new_urls(BASE) == site.changed_urls(BASE) == []
    step = evolved.evolution
    assert len(step.new) == 3 and len(step.changed) == 2
    assert step.since == site.now and evolved.now == step.at == site.now + timedelta(hours=3)
    old = {a.slug: a for a in site.articles}
    assert {a.slug for a in evolved.articles} - set(old) == set(step.new)
    for a in evolved.articles:
        if a.slug in step.changed:
            before = old[a.slug]
            assert site.now < a.modified <= evolved.now
            assert a.paragraphs[:-1] == before.paragraphs and a.paragraphs != before.paragraphs
            assert a == replace(before, modified=a.modified, paragraphs=a.paragraphs)
        elif a.slug in old:
            assert a == old[a.slug]
    assert evolved.hard_cases == site.hard_cases
    assert evolved.articles == tuple(
        sorted(evolved.articles, key=lambda a: (a.published, a.id), reverse=True)
    )


def test_new_posts_are_plain_listed_and_newest(site, evolved):
    top_id = max(a.id for a in site.articles)
    new = [evolved.article(slug) for slug in evolved.evolution.new]
    assert [a.published for a in new] == [site.now + timedelta(hours=h) for h in (1, 2, 3)]
    assert top_id < new[0].id < new[1].id < new[2].id
    assert evolved.articles[:3] == tuple(reversed(new))
    existing = {a.path for a in site.articles if a.listed and a.kind == "article"}
    for a in new:
        assert a.kind == "article" and a.listed and not a.quirk and not a.listing_target
        assert a.section not in (TRAP_SECTION, SCRIPTED_SECTION) and not a.disallowed
        assert a.modified is None and a.author and 1 <= len(a.images) <= 2
        assert re.fullmatch(r"[a-z][a-z0-9-]*", a.slug) and len(a.paragraphs) >= 3
        assert len(a.related) == 8 and {link.target for link in a.related} <= existing
    assert len({a.slug for a in evolved.articles}) == len(evolved.articles)
    assert len({a.title for a in evolved.articles}) == len(evolved.articles)
    assert len({a.id for a in evolved.articles}) == len(evolved.articles)


def test_changed_posts_are_ordinary_and_deep_in_their_listing(site, evolved):
    special = set(site.hard_cases.values()) | set(site.alias_slugs.values())
    front = {a.slug for a in evolved.latest(10)}
    for slug in evolved.evolution.changed:
        a = evolved.article(slug)
        assert slug not in special and slug not in front and not evolved.is_scripted(a)
        assert a.listed and not a.quirk and not a.listing_target and not a.disallowed
        assert a.section not in (TRAP_SECTION, SCRIPTED_SECTION)
        assert [x.slug for x in evolved.listing(a.section)].index(slug) >= PAGE_SIZE


@pytest.mark.parametrize("theme", ["classic", "alt"])
def test_expected_items_follow(site, evolved, theme):
    before, after = expected_items(site, theme, BASE), expected_items(evolved, theme, BASE)
    new, changed = evolved.new_urls(BASE), evolved.changed_urls(BASE)
    assert set(after) == set(before) | set(new) and not set(new) & set(before)
    for url, item in before.items():
        if url not in changed:
            assert after[url] == item, url
    for url in changed:
        a = evolved.article(urlsplit(url).path[1:].removesuffix(".html"))
        old, item = before[url], after[url]
        assert item["body"].startswith(old["body"] + "\n\n") and item["body"] != old["body"]
        assert item["content_sha256"] != old["content_sha256"]
        assert item["modified_at"] == (a.modified.isoformat() if theme == "classic" else None)
        same = {k for k in item if k not in ("body", "content_sha256", "modified_at")}
        assert {k: item[k] for k in same} == {k: old[k] for k in same}
    for url in new:
        item = after[url]
        assert item["published_at"] > evolved.evolution.since.isoformat()
        assert item["modified_at"] is None and item["images"] and len(item["related"]) == 8


def test_listings_home_feed_and_sitemap_show_the_new_posts_first(evolved, portal):
    base = portal.base_url
    new = [evolved.article(slug) for slug in reversed(evolved.evolution.new)]  # newest first
    changed = evolved.changed_urls(base)
    for section in {a.section for a in new}:
        _, body = get(portal, f"/chuyen-muc/{section}/")
        listed = {a.url(base) for a in evolved.listing(section)}
        main = body.decode().split("<main", 1)[1].split("</main>", 1)[0]  # not the sidebar
        found = re.findall(rf'href="({re.escape(base)}[^"#?]+\.html)"', main)
        links = [u for u in dict.fromkeys(found) if u in listed]  # in order, once each
        expected = [a.url(base) for a in new if a.section == section]
        assert links[: len(expected)] == expected
        assert not set(changed) & set(links)
    _, home = get(portal, "/")
    _, feed = get(portal, "/feed/")
    _, sitemap = get(portal, "/wp-sitemap-posts-post-1.xml")
    feed_links = re.findall(r"<link>([^<]+\.html)</link>", feed.decode())
    assert feed_links[:3] == [a.url(base) for a in new]
    assert re.findall(r"<loc>([^<]+)</loc>", sitemap.decode())[:3] == [a.url(base) for a in new]
    for a in new:
        assert a.title.encode() in home
        assert get(portal, f"/{a.path}")[0].status == 200
        assert get(portal, f"/{a.path}/amp")[0].status == 200
        for image in a.images:
            assert get(portal, f"/{image.path}")[0].status == 200
    assert not any(url.encode() in home + feed for url in changed)


def test_rest_modified_after_answers_exactly_the_new_and_changed_posts(evolved, portal):
    step, base = evolved.evolution, portal.base_url
    wanted = set(evolved.new_urls(base)) | set(evolved.changed_urls(base))
    response, posts = api(
        portal, f"modified_after={local_iso(step.since)}&orderby=modified&order=desc"
    )
    assert response.status == 200
    assert {p["link"] for p in posts} == wanted and len(posts) == len(wanted) == 5
    assert response.getheader("X-WP-Total") == "5" and response.getheader("X-WP-TotalPages") == "1"
    modified = [p["modified_gmt"] for p in posts]
    assert modified == sorted(modified, reverse=True)
    for post in posts:
        a = evolved.article_by_id(post["id"])
        assert post["link"] == a.url(base) and post["title"]["rendered"] == a.title
        assert WP_DATE.fullmatch(post["date_gmt"]) and WP_DATE.fullmatch(post["modified_gmt"])
        assert (
            post["modified_gmt"]
            == (a.modified or a.published).astimezone(UTC).replace(tzinfo=None).isoformat()
        )
        assert post["date_gmt"] == a.published.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    # The same instant with an explicit offset (UTC here); a second later: one post fewer.
    utc = step.since.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"
    assert {p["link"] for p in api(portal, f"modified_after={utc}")[1]} == wanted
    first = min(
        evolved.article(s).modified or evolved.article(s).published
        for s in (*step.new, *step.changed)
    )
    _, later = api(portal, f"modified_after={quote(first.isoformat())}")
    assert len(later) == 4
    # After the evolution: nothing.
    response, posts = api(portal, f"modified_after={local_iso(evolved.now)}")
    assert response.status == 200 and posts == []
    assert response.getheader("X-WP-Total") == "0" and response.getheader("X-WP-TotalPages") == "0"


def test_rest_pagination_and_fields(evolved, portal):
    since = local_iso(evolved.evolution.since)
    seen = []
    for page in (1, 2, 3):
        response, posts = api(
            portal,
            f"modified_after={since}&orderby=modified&per_page=2"
            f"&page={page}&_fields=id,link,modified_gmt,title",
        )
        assert response.getheader("X-WP-Total") == "5"
        assert response.getheader("X-WP-TotalPages") == "3"
        assert len(posts) == (2 if page < 3 else 1)
        assert all(set(p) == {"id", "link", "modified_gmt", "title"} for p in posts)
        seen += [p["link"] for p in posts]
    assert len(seen) == len(set(seen)) == 5
    response, error = api(portal, f"modified_after={since}&per_page=2&page=4")
    assert response.status == 400 and error["code"] == "rest_post_invalid_page_number"
    response, posts = api(portal, "per_page=100&_fields=id")
    total = len(evolved.articles)
    assert response.getheader("X-WP-Total") == str(total)
    assert response.getheader("X-WP-TotalPages") == str(-(-total // 100))
    assert [p["id"] for p in posts] == [a.id for a in evolved.articles[:100]]  # date, desc
    response, posts = api(portal, "")
    assert len(posts) == 10 and posts[0]["id"] == evolved.articles[0].id


@pytest.mark.parametrize(
    "query, param",
    [
        ("modified_after=yesterday", "modified_after"),
        ("modified_after=2026-13-01T00:00:00", "modified_after"),
        ("modified_after=2026-05-15T00:00:00&per_page=101", "per_page"),
        ("modified_after=2026-05-15T00:00:00&page=0", "page"),
        ("modified_after=2026-05-15T00:00:00&orderby=size", "orderby"),
    ],
)
def test_rest_bad_parameters_are_400(portal, query, param):
    response, error = api(portal, query)
    assert response.status == 400
    assert response.getheader("Content-Type").startswith("application/json")
    assert error["code"] == "rest_invalid_param" and error["data"]["status"] == 400
    assert param in error["data"]["params"]


def test_scripted_queries_unchanged(site, evolved, portal):
    base = portal.base_url
    scripted = next(a for a in evolved.articles if evolved.is_scripted(a))
    response, posts = api(portal, related_api(scripted).split("?", 1)[1])
    targets = [link.target for link in scripted.related]
    assert [p["link"] for p in posts] == [t if "://" in t else base + t for t in targets]
    assert all(set(p) == {"link", "title"} for p in posts) and len(posts) == 8
    assert response.getheader("X-WP-TotalPages") == "1"
    category = category_id(evolved, SCRIPTED_SECTION)
    response, posts = api(portal, f"categories={category}&page=2&per_page=10&_fields=link,title")
    listing = evolved.listing(SCRIPTED_SECTION)[PAGE_SIZE : 2 * PAGE_SIZE]
    assert [p["link"] for p in posts] == [base + (a.listing_target or a.path) for a in listing]
    assert api(portal, f"categories={category}&page=99")[0].status == 400


def test_replace_site_keeps_the_base_url_and_conditional_requests_tell_what_changed(site, evolved):
    with FixturePortal(site, theme="classic") as portal:
        base = portal.base_url
        changed, new = evolved.changed_urls(base)[0], evolved.new_urls(base)[0]
        unchanged = next(
            a.url(base)
            for a in site.articles[20:]
            if a.kind == "article" and not a.quirk and a.url(base) not in evolved.changed_urls(base)
        )
        validators = {}
        for url in (changed, unchanged):
            response, _ = get(portal, urlsplit(url).path)
            etag, last_modified = response.getheader("ETag"), response.getheader("Last-Modified")
            assert etag and last_modified
            assert get(portal, urlsplit(url).path, **{"If-None-Match": etag})[0].status == 304
            assert (
                get(portal, urlsplit(url).path, **{"If-Modified-Since": last_modified})[0].status
                == 304
            )
            validators[url] = etag, last_modified
        assert get(portal, urlsplit(new).path)[0].status == 404
        assert api(portal, f"modified_after={local_iso(site.now)}")[1] == []

        portal.replace_site(evolved)
        assert portal.base_url == base and portal.site is evolved
        assert get(portal, urlsplit(new).path)[0].status == 200
        etag, since = validators[changed]
        assert get(portal, urlsplit(changed).path, **{"If-Modified-Since": since})[0].status == 200
        response, _ = get(portal, urlsplit(changed).path, **{"If-None-Match": etag})
        assert response.status == 200
        modified = evolved.article(urlsplit(changed).path[1:-5]).modified
        assert response.getheader("Last-Modified") == modified.astimezone(UTC).strftime(
            "%a, %d %b %Y %H:%M:%S GMT"
        )
        # An unchanged post keeps its Last-Modified, but its page (the sidebar's latest
        # posts, the calendar) changed, so its ETag did too.
        etag, since = validators[unchanged]
        assert (
            get(portal, urlsplit(unchanged).path, **{"If-Modified-Since": since})[0].status == 304
        )
        assert get(portal, urlsplit(unchanged).path, **{"If-None-Match": etag})[0].status == 200
        links = {p["link"] for p in api(portal, f"modified_after={local_iso(site.now)}")[1]}
        assert links == set(evolved.new_urls(base)) | set(evolved.changed_urls(base))


def test_evolve_again_and_bounds(evolved):
    twice = evolve_site(evolved, new=1, changed=4)
    step = twice.evolution
    assert step.since == evolved.now and len(step.new) == 1 and len(step.changed) == 4
    assert twice.now == max(twice.article(s).modified for s in step.changed)  # +3h30 > +1h
    assert not set(twice.new_urls(BASE)) & set(evolved.new_urls(BASE))
    only_changes = evolve_site(evolved, new=0, changed=1)
    assert only_changes.now == evolved.now + timedelta(minutes=30)
    with pytest.raises(ValueError):
        evolve_site(evolved, new=0, changed=0)
    with pytest.raises(ValueError):
        evolve_site(evolved, changed=10_000)
