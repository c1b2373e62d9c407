import re

import pytest

from crawler.urls import PortalUrls, is_private_host, listing_base, listing_page_number

URLS = PortalUrls(
    hosts=frozenset({"thanhphohaiphong.gov.vn"}),
    article_path=re.compile(r"^/[^/]+\.html?$"),
    tracking_params=("utm_", "fbclid", "share"),
)
ARTICLE = "https://thanhphohaiphong.gov.vn/quan-uy-ngo-quyen.html"


@pytest.mark.parametrize(
    "variant",
    [
        ARTICLE,
        "https://thanhphohaiphong.gov.vn/quan-uy-ngo-quyen.html/amp",
        "https://thanhphohaiphong.gov.vn/quan-uy-ngo-quyen.html/amp/",
        "https://thanhphohaiphong.gov.vn/quan-uy-ngo-quyen.html/",
        "https://thanhphohaiphong.gov.vn/quan-uy-ngo-quyen.html?amp=1",
        "https://thanhphohaiphong.gov.vn/quan-uy-ngo-quyen.html?utm_source=fb&utm_medium=social",
        "https://thanhphohaiphong.gov.vn/quan-uy-ngo-quyen.html?fbclid=IwAR0x#comments",
        "HTTPS://ThanhPhoHaiPhong.gov.vn:443/quan-uy-ngo-quyen.html",
    ],
)
def test_variants_fold_into_the_canonical_article_url(variant):
    assert URLS.canonical(variant) == ARTICLE


def test_meaningful_query_arguments_are_kept_and_sorted():
    url = "https://thanhphohaiphong.gov.vn/?s=ng%C3%B4+quy%E1%BB%81n&paged=2&utm_campaign=x"
    assert (
        URLS.canonical(url) == "https://thanhphohaiphong.gov.vn/?paged=2&s=ng%C3%B4+quy%E1%BB%81n"
    )


def test_scope_is_the_portal_host_and_port_only():
    assert URLS.in_scope(ARTICLE)
    assert URLS.in_scope("http://thanhphohaiphong.gov.vn/x.html")
    assert not URLS.in_scope("https://haiphong.gov.vn/x.html")
    assert not URLS.in_scope("https://thanhphohaiphong.gov.vn:8443/x.html")
    assert not URLS.in_scope("mailto:a@thanhphohaiphong.gov.vn")
    assert not URLS.in_scope("https://127.0.0.1/x.html")
    local = PortalUrls(frozenset({"127.0.0.1:8080"}), URLS.article_path, ())
    assert local.in_scope("http://127.0.0.1:8080/x.html")
    assert not local.in_scope("http://127.0.0.1:9090/x.html")


def test_articles_are_recognised_by_path():
    assert URLS.is_article(ARTICLE)
    assert URLS.is_article("https://thanhphohaiphong.gov.vn/2024-nam-moi.html")
    assert not URLS.is_article("https://thanhphohaiphong.gov.vn/chuyen-muc/kinh-te/")
    assert not URLS.is_article("https://thanhphohaiphong.gov.vn/wp-content/uploads/a.html/x")
    assert not URLS.is_article("https://haiphong.gov.vn/x.html")


def test_slug_of_articles_sections_and_listing_pages():
    assert URLS.slug(ARTICLE) == "quan-uy-ngo-quyen.html"
    assert URLS.slug("https://thanhphohaiphong.gov.vn/chuyen-muc/kinh-te/") == "kinh-te"
    assert URLS.slug("https://thanhphohaiphong.gov.vn/chuyen-muc/kinh-te/page/3/") == "kinh-te"


def test_listing_pages():
    assert listing_page_number("https://h/chuyen-muc/a/") == 1
    assert listing_page_number("https://h/chuyen-muc/a/page/7/") == 7
    assert listing_page_number("https://h/?cat=3&paged=4") == 4
    assert listing_base("https://h/chuyen-muc/a/page/7/") == "https://h/chuyen-muc/a/"
    assert listing_base("https://h/?cat=3&paged=4") == "https://h/?cat=3"


@pytest.mark.parametrize(
    "host,private",
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("169.254.169.254", True),
        ("[::1]", True),
        ("localhost", True),
        ("192.168.0.1", True),
        ("203.0.113.9", True),
        ("8.8.8.8", False),
        ("thanhphohaiphong.gov.vn", False),
    ],
)
def test_private_hosts(host, private):
    assert is_private_host(host) is private
