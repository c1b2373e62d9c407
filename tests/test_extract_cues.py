"""The extractor's cues, on small pages written by hand in several markups."""

import unicodedata

import pytest

from crawler.extract import ExtractionError
from crawler.extract.article import parse_html
from tests.extraction import extract_item

PORTAL = "https://thanhphohaiphong.gov.vn/"
URL = PORTAL + "bai-viet-mau.html"
TITLE = "Hải Phòng khởi công dự án cầu mới qua sông Cấm"
SAPO = "Sáng 12/5, thành phố khởi công xây dựng cầu mới nối hai bờ sông Cấm."
P1 = "Dự án có tổng mức đầu tư hơn 2.000 tỷ đồng, dự kiến hoàn thành trong năm 2027."
P2 = "Phát biểu tại lễ khởi công, lãnh đạo thành phố đề nghị các đơn vị bảo đảm tiến độ."
CAPTION = "Các đại biểu thực hiện nghi thức khởi công."
# The portal sets the lead paragraph apart in bold; an unmarked first paragraph is body.
LEAD = f"<p><strong>{SAPO}</strong></p>"
FURNITURE = """
<div><h3>Tiện ích thông tin</h3><a href="#">Nguồn tin</a><a href="#">QR Code</a>
<p>QR CODE: {title}</p></div>
<div><h3>Chúng tôi trên Mạng Xã hội</h3><p>QR Code Fanpage</p></div>
<div class="x"><h4>Tin khác</h4>
<ul><li><a href="/tin-mot.html?utm_source=fb">Tin một</a></li>
<li><a href="{portal}tin-hai.html/amp"><img src="/t.jpg"></a><a href="{portal}tin-hai.html/amp">Tin hai</a></li>
<li><a href="https://haiphong.gov.vn/tin-ba.html">Tin ba</a></li></ul></div>
<aside><h3>Tin mới</h3><p>Một đoạn văn ở thanh bên không thuộc bài viết này.</p></aside>
"""


def page(
    content: str, head: str = "", header_line: str | None = None, title_tag: str = "h1"
) -> str:
    header_line = header_line or (
        '<div><a href="?print=1">Print</a> Thứ Sáu, 12/05/2023 08:30 '
        '<a href="https://baohaiphong.vn/goc.html">Gốc</a></div>'
    )
    return f"""<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">
<title>{TITLE} – Cổng tin tức Thành phố Hải Phòng</title>{head}</head>
<body><div class="top"><a href="/">Trang chủ</a> <nav><a href="/chuyen-muc/kinh-te/">Kinh tế</a></nav></div>
<div class="crumbs"><a href="/">Trang chủ</a> » <a href="/chuyen-muc/kinh-te/">Kinh tế</a></div>
<{title_tag}>{TITLE}</{title_tag}>{header_line}
{content}
{FURNITURE.format(title=TITLE, portal=PORTAL)}
</body></html>"""


def extract(html: str) -> dict:
    return extract_item(html, URL, PORTAL)


def body(*paragraphs: str) -> str:
    return "\n\n".join(paragraphs)


CAPTION_MARKUPS = {
    "figure": f'<figure><img src="/wp-content/uploads/2023/05/a.jpg"><figcaption>{CAPTION}</figcaption></figure>',
    "wp-caption div": (
        f'<div class="wp-caption"><img src="/wp-content/uploads/2023/05/a.jpg">'
        f'<p class="wp-caption-text">{CAPTION}</p></div>'
    ),
    "table": (
        f'<table class="image"><tr><td><img src="/wp-content/uploads/2023/05/a.jpg"></td></tr>'
        f"<tr><td>{CAPTION}</td></tr></table>"
    ),
    "italic next paragraph": (
        f'<p style="text-align:center"><img src="/wp-content/uploads/2023/05/a.jpg"></p><p><em>{CAPTION}</em></p>'
    ),
    "legacy center": f'<center><img src="/wp-content/uploads/2023/05/a.jpg"><br><i>{CAPTION}</i></center>',
}


@pytest.mark.parametrize("markup", CAPTION_MARKUPS.values(), ids=CAPTION_MARKUPS.keys())
def test_captioned_images_in_any_markup(markup):
    item = extract(page(f"<p><b>{SAPO}</b></p><p>{P1}</p>{markup}<p>{P2}</p><p>Trâm Bầu</p>"))
    assert item["title"] == TITLE
    assert item["sapo"] == SAPO
    assert item["body"] == body(P1, P2)
    assert item["author"] == "Trâm Bầu"
    assert item["images"] == [
        {"url": PORTAL + "wp-content/uploads/2023/05/a.jpg", "caption": CAPTION}
    ]


def test_header_line_gives_date_and_original_source():
    item = extract(page(f"<p>{SAPO}</p><p>{P1}</p>"))
    assert item["published_at"] == "2023-05-12T08:30:00+07:00"
    assert item["source"] == "https://baohaiphong.vn/goc.html"
    assert item["modified_at"] is None
    assert item["section"] == {"name": "Kinh tế", "slug": "kinh-te"}


def test_related_links_are_canonical_in_scope_and_as_written_off_site():
    item = extract(page(f"<p>{SAPO}</p><p>{P1}</p>"))
    assert item["related"] == [
        {"url": PORTAL + "tin-mot.html", "title": "Tin một"},
        {"url": PORTAL + "tin-hai.html", "title": "Tin hai"},
        {"url": "https://haiphong.gov.vn/tin-ba.html", "title": "Tin ba"},
    ]


def test_initials_author_then_source_line():
    item = extract(
        page(
            f"{LEAD}<p>{P1}</p><p>{P2}</p><p><strong>V.H.N</strong></p><p>Nguồn. haiphong.gov.vn</p>",
            header_line="<p>Thứ Hai, 01/04/2019 16:05</p>",
        )
    )
    assert item["author"] == "V.H.N"
    assert item["source"] == "haiphong.gov.vn"
    assert item["body"] == body(P1, P2)
    assert item["published_at"] == "2019-04-01T16:05:00+07:00"


def test_no_author_when_the_last_line_is_a_sentence():
    item = extract(page(f"{LEAD}<p>{P1}</p><p>{P2}</p>"))
    assert item["author"] is None
    assert item["body"] == body(P1, P2)
    assert item["images"] == []


def test_legacy_markup_with_br_paragraphs_and_font_tags():
    content = (
        f'<div><font face="Arial"><b>{SAPO}</b><br><br>{P1}<br><br>'
        f"<font color=red>{P2}</font><br/><br/>Trâm Bầu</font></div>"
    )
    item = extract(page(content, title_tag="center"))
    assert (item["sapo"], item["body"], item["author"]) == (SAPO, body(P1, P2), "Trâm Bầu")


def test_decomposed_text_and_entities_become_nfc():
    nfd = unicodedata.normalize("NFD", f"{LEAD}<p>{P1}</p>")
    entities = "<p>Th&agrave;nh ph&#7889; H&#x1EA3;i Ph&ograve;ng &amp; c&aacute;c &#273;&#417;n v&#7883;.</p>"
    item = extract(page(nfd + entities))
    assert item["sapo"] == SAPO
    assert item["body"] == body(P1, "Thành phố Hải Phòng & các đơn vị.")


def test_head_metadata_is_used_when_present():
    head = (
        '<link rel="canonical" href="https://thanhphohaiphong.gov.vn/bai-that.html">'
        '<link rel="shortlink" href="https://thanhphohaiphong.gov.vn/?p=4321">'
        '<meta property="article:published_time" content="2023-05-12T01:30:00+00:00">'
        '<meta property="article:modified_time" content="2023-05-13T09:00:00+07:00">'
    )
    item = extract(page(f"<p>{SAPO}</p><p>{P1}</p>", head=head))
    assert item["url"] == PORTAL + "bai-that.html"
    assert item["post_id"] == 4321
    assert item["published_at"] == "2023-05-12T08:30:00+07:00"
    assert item["modified_at"] == "2023-05-13T09:00:00+07:00"


def test_photon_and_lazy_images_point_at_the_portal_file():
    content = (
        f"<p>{SAPO}</p><p>{P1}</p>"
        '<figure><img src="data:image/gif;base64,R0lGOD" '
        'data-src="https://i1.wp.com/thanhphohaiphong.gov.vn/wp-content/uploads/2021/02/b.jpg?fit=800%2C533&amp;ssl=1">'
        f"<figcaption>{CAPTION}</figcaption></figure><p>{P2}</p>"
    )
    item = extract(page(content))
    assert item["images"] == [
        {"url": PORTAL + "wp-content/uploads/2021/02/b.jpg", "caption": CAPTION}
    ]


def test_a_page_without_any_title_gives_no_title():
    html = f"<html><body><p>{SAPO}</p><p>{P1}</p></body></html>"
    assert extract(html)["title"] is None


@pytest.mark.parametrize("html", ["", "   \n  "])
def test_an_empty_document_is_an_extraction_error(html):
    with pytest.raises(ExtractionError, match="empty"):
        parse_html(html)


def test_malformed_html_is_recovered():
    content = f"<div><p><b>{SAPO}<p>{P1}</div></div></span><p>{P2}<div>"
    item = extract(page(content))
    assert (item["sapo"], item["body"]) == (SAPO, body(P1, P2))


def test_an_unmarked_first_paragraph_is_body_not_sapo():
    item = extract(page(f"<p>{SAPO}</p><p>{P1}</p><p>{P2}</p>"))
    assert item["sapo"] is None
    assert item["body"] == body(SAPO, P1, P2)


def test_a_paragraph_that_only_starts_in_bold_is_body():
    lead_in = f"<p><strong>Hải Phòng</strong> - {P1}</p>"
    item = extract(page(f"{lead_in}<p>{P2}</p>"))
    assert item["sapo"] is None
    assert item["body"] == body(f"Hải Phòng - {P1}", P2)


LEAD_MARKUPS = {
    "strong": f"<p><strong>{SAPO}</strong></p>",
    "b split in runs": f"<p><b>{SAPO[:20]}</b><b>{SAPO[20:]}</b></p>",
    "bold style": f'<p style="font-weight: bold">{SAPO}</p>',
    "bold span": f'<p><span style="font-weight:700">{SAPO}</span></p>',
    "div.sapo": f'<div class="sapo">{SAPO}</div>',
    "h2.detail-sapo": f'<h2 class="detail-sapo">{SAPO}</h2>',
    "p#lead": f'<p id="lead">{SAPO}</p>',
    "summary block": f'<div class="entry-summary"><p>{SAPO}</p></div>',
}


@pytest.mark.parametrize("markup", LEAD_MARKUPS.values(), ids=LEAD_MARKUPS.keys())
def test_a_lead_the_page_marks_is_the_sapo(markup):
    item = extract(page(f"{markup}<div><p>{P1}</p><p>{P2}</p></div>"))
    assert (item["sapo"], item["body"]) == (SAPO, body(P1, P2))


def test_a_lead_class_around_the_whole_content_is_no_sapo():
    item = extract(page(f'<div class="lead-content"><p>{SAPO}</p><p>{P1}</p></div>'))
    assert (item["sapo"], item["body"]) == (None, body(SAPO, P1))


def unlinked_page(crumbs: bool = True, meta: bool = True, post_class: bool = True) -> str:
    """A post of a category that has no listing: nothing links it."""
    head = '<meta property="article:section" content="Văn bản">' if meta else ""
    trail = (
        f'<div class="breadcrumb"><a href="/">Trang chủ</a> / <span>Văn bản</span> / '
        f"<span>{TITLE[:30]}…</span></div>"
        if crumbs
        else ""
    )
    classes = ' class="post type-post hentry category-van-ban"' if post_class else ""
    related = '<article class="post hentry category-kinh-te"><a href="/x.html">Tin</a></article>'
    return f"""<html><head><title>{TITLE}</title>{head}</head><body>{trail}
<article id="post-12"{classes}><h1>{TITLE}</h1><p>Thứ Sáu, 12/05/2023 08:30</p>
{LEAD}<p>{P1}</p></article><aside>{related}</aside></body></html>"""


SECTION_CUES = {
    "all": ({}, {"name": "Văn bản", "slug": "van-ban"}),
    "no breadcrumb": ({"crumbs": False}, {"name": "Văn bản", "slug": "van-ban"}),
    "no meta": ({"meta": False}, {"name": "Văn bản", "slug": "van-ban"}),
    "no post class": ({"post_class": False}, {"name": "Văn bản", "slug": None}),
    "class only": ({"crumbs": False, "meta": False}, {"name": None, "slug": "van-ban"}),
    "none": ({"crumbs": False, "meta": False, "post_class": False}, None),
}


@pytest.mark.parametrize(("cues", "section"), SECTION_CUES.values(), ids=SECTION_CUES.keys())
def test_an_unlinked_section_is_read_from_crumb_text_meta_and_post_class(cues, section):
    # The related post's category-kinh-te is another post's; the cut-off title is no crumb.
    assert extract(unlinked_page(**cues))["section"] == section


def test_a_breadcrumb_label_without_links_is_not_the_section():
    crumbs = (
        '<span class="breadcrumb-label">Bạn đang xem:</span>'
        '<ul class="breadcrumb"><li><a href="/">Trang chủ</a></li><li>Văn bản</li></ul>'
    )
    html = unlinked_page(crumbs=False, meta=False, post_class=False).replace(
        "<body>", f"<body>{crumbs}"
    )
    assert extract(html)["section"] == {"name": "Văn bản", "slug": None}
