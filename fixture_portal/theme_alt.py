"""The "alt" theme: the same site in another CMS skin, div-based, with no WordPress hints.

No og:/article: meta, no shortlink, no post ids, no <article>, no h1; the headline is a
div.news-title, the sapo a div.lead, captions sit in table.image or in an italic <p> after
the image, the sidebar comes before the content, and the date is only in the header line.
"""

from __future__ import annotations

from .content import special_content
from .htmlutil import (
    FANPAGE_QR,
    FOOTER_LINKS,
    LOGO,
    SITE_NAME,
    Ctx,
    calendar_weeks,
    day_target,
    escape,
    excerpt,
    month_caption,
    qr_src,
    vn_date,
    vn_datetime,
)
from .model import SCRIPTED_SECTION, Article, Image, Section
from .scripted import article_scripts, img_tag, load_more, related_list

STYLE = "wp-content/themes/cttdt/css/style.css"
SCRIPT = "wp-content/themes/cttdt/js/app.js"
DOCTYPE = (
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">'
)


def page(ctx: Ctx, *, title: str, head: str, main: str) -> str:
    charset = (
        '<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />\n'
        if ctx.meta_charset
        else ""
    )
    return f"""{DOCTYPE}
<html xmlns="http://www.w3.org/1999/xhtml" lang="vi">
<head>
{charset}<title>{ctx.esc(title)}</title>
{head}
<link href="{ctx.url(STYLE)}" rel="stylesheet" type="text/css" />
<script type="text/javascript" src="{ctx.url(SCRIPT)}"></script>
</head>
<body>
<div id="wrapper">
{_header(ctx)}
<div class="container clearfix">
{_left_column(ctx)}
<div class="col-right">
{main}
</div>
</div>
{_footer(ctx)}
</div>
</body>
</html>
"""


def _header(ctx: Ctx) -> str:
    items = "".join(f"<li>{ctx.a(target, label)}</li>" for label, target in ctx.menu())
    return f"""<div class="header">
<div class="banner"><a href="{ctx.base}">
<img src="{ctx.url(LOGO)}" alt="{ctx.esc(SITE_NAME)}" /></a></div>
<div class="menu-top"><ul class="nav-menu">{items}</ul></div>
</div>"""


def _left_column(ctx: Ctx) -> str:
    recent = "".join(
        f'<li>{ctx.a(a.listing_target or a.path, a.title)}<span class="date">'
        f"{vn_date(a.published)}</span></li>"
        for a in ctx.site.latest(5)
    )
    now = ctx.site.now
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{ctx.a(day_target(now.date().replace(day=d)), str(d))}</td>" if d else "<td></td>"
            for d in week
        )
        + "</tr>"
        for week in calendar_weeks(now.year, now.month)
    )
    return f"""<div class="col-left">
<div class="box"><div class="box-head">Tin mới</div><ul class="list-news-small">{recent}</ul></div>
<div class="box"><div class="box-head">Lịch công tác</div>
<div class="calendar"><div class="month">{ctx.esc(month_caption(now.year, now.month))}</div>
<table class="tbl-calendar" cellpadding="0" cellspacing="0">
<tr><th>T2</th><th>T3</th><th>T4</th><th>T5</th><th>T6</th><th>T7</th><th>CN</th></tr>
{rows}</table>
</div></div>
</div>"""


def _footer(ctx: Ctx) -> str:
    links = "".join(f"<li>{ctx.a(target, label)}</li>" for label, target in FOOTER_LINKS)
    return f"""<div class="footer">
<ul class="footer-links">{links}</ul>
<div class="copyright">{ctx.esc("Bản quyền thuộc " + SITE_NAME)}<br />
{ctx.esc("Số 18 Hoàng Diệu, quận Hồng Bàng, thành phố Hải Phòng")}</div>
</div>"""


def _image(ctx: Ctx, a: Article, img: Image) -> str:
    if ctx.site.is_scripted(a):
        tag = img_tag(ctx, img)
    else:
        tag = f'<img src="{escape(img.src(ctx.base))}" alt="" />'
    if img.caption is None:
        return f'<p style="text-align: center;">{tag}</p>'
    if img.variant == 0:
        return (
            f'<table class="image" align="center"><tbody><tr><td>{tag}'
            f'</td></tr><tr><td class="image-desc">{ctx.esc(img.caption)}</td></tr>'
            "</tbody></table>"
        )
    return (
        f'<p style="text-align: center;">{tag}</p>\n'
        f'<p style="text-align: center;"><em>{ctx.esc(img.caption)}</em></p>'
    )


def _content(ctx: Ctx, a: Article) -> str:
    special = special_content(ctx, a)
    if special is not None:
        return f'<div class="news-content">\n{special}\n</div>'
    images = {img.after: img for img in a.images}
    out = []
    for i, para in enumerate(a.paragraphs):
        out.append(f'<p style="text-align: justify;">{ctx.esc(para)}</p>')
        if i in images:
            out.append(_image(ctx, a, images[i]))
    if a.author:
        out.append(f'<p style="text-align: right;"><b>{ctx.esc(a.author)}</b></p>')
    if a.source_note:
        out.append(f'<p style="text-align: right;">{ctx.esc("Nguồn. " + a.source_note)}</p>')
    body = "\n".join(out)
    lead = f'<div class="lead">{ctx.esc(a.sapo)}</div>\n' if a.sapo else ""
    return f'{lead}<div class="news-content">\n{body}\n</div>'


def _furniture(ctx: Ctx, a: Article) -> str:
    return f"""<div class="box-utilities">
<div class="box-head">Tiện ích thông tin</div>
<div class="tabs"><span class="tab active">Nguồn tin</span><span class="tab">QR Code</span></div>
<div class="qr"><img src="{escape(qr_src(a.url(ctx.base)))}" alt="" />
<div class="qr-title">{ctx.esc("QR CODE: " + a.title)}</div></div>
</div>
<div class="box-social">
<div class="box-head">Chúng tôi trên Mạng Xã hội</div>
<div class="tabs"><span class="tab active">QR Code Fanpage</span></div>
<img src="{ctx.url(FANPAGE_QR)}" alt="" />
<div class="desc">{ctx.esc("Mã QR Code truy cập vào Fanpage " + SITE_NAME)}</div>
</div>
<div class="other-news">
<div class="box-head">Tin khác</div>
{related_list(ctx, a, 'class="list-other"')}
</div>"""


def _breadcrumb(ctx: Ctx, section: Section) -> str:
    # A category without a listing is named, never linked.
    crumb = ctx.a(section.path, section.name) if section.listed else ctx.esc(section.name)
    return f'<div class="breadcrumb">{ctx.a("", "Trang chủ")} <span>/</span> {crumb}</div>'


def article_page(ctx: Ctx, a: Article) -> str:
    section = ctx.site.section(a.section)
    goc = f' <a class="link-goc" href="{escape(a.goc)}" target="_blank">Gốc</a>' if a.goc else ""
    description = ""
    if a.sapo and a.shows("meta"):
        description = f'<meta name="description" content="{ctx.esc(a.sapo)}" />\n'
    head = (
        f"{description}"
        f'<link rel="canonical" href="{escape(a.url(ctx.base))}" />\n'
        f"{article_scripts(ctx, a)}"
    )
    main = f"""{_breadcrumb(ctx, section) if a.shows("breadcrumb") else ""}
<div class="detail-news">
<div class="news-title">{ctx.esc(a.title)}</div>
<div class="news-tools"><a href="javascript:window.print();" class="btn-print">Print</a>
<span class="time-post">{ctx.esc(vn_datetime(a.published))}</span>{goc}</div>
{_content(ctx, a)}
{_furniture(ctx, a)}
</div>"""
    return page(ctx, title=f"{a.title} | {SITE_NAME}", head=head, main=main)


def _item(ctx: Ctx, a: Article) -> str:
    target = a.listing_target or a.path
    thumb = (
        f'<a class="thumb" href="{escape(ctx.url(target))}"><img src="'
        f'{escape(a.images[0].src(ctx.base))}" alt="" /></a>'
        if a.images
        else ""
    )
    title = ctx.a(target, a.title, 'class="title-news"')
    return (
        f'<div class="item-news">{thumb}<div class="info">{title}'
        f'<span class="date">{ctx.esc(vn_datetime(a.published))}</span>'
        f'<div class="sapo">{ctx.esc(excerpt(a))}</div></div></div>'
    )


def _paging(ctx: Ctx, section: Section, current: int, last: int | None) -> str:
    def target(n: int) -> str:
        return section.path if n == 1 else f"{section.path}page/{n}/"

    parts = []
    if current > 1:
        parts += [ctx.a(target(1), "Đầu"), ctx.a(target(current - 1), "‹")]
    high = current + 2 if last is None else min(last, current + 2)
    for n in range(max(1, current - 2), high + 1):
        parts.append(f'<a class="active">{n}</a>' if n == current else ctx.a(target(n), str(n)))
    if last is None or current < last:
        parts.append(ctx.a(target(current + 1), "›", 'title="Trang sau"'))
    if last is not None and current < last:
        parts.append(ctx.a(target(last), "Cuối"))
    return f'<div class="paging">{"".join(parts)}</div>'


def listing_page(
    ctx: Ctx, section: Section, current: int, posts: list[Article], last: int | None
) -> str:
    target = section.path if current == 1 else f"{section.path}page/{current}/"
    head = f'<link rel="canonical" href="{ctx.url(target)}" />'
    main = (
        f'{_breadcrumb(ctx, section)}\n<div class="cate-title">{ctx.esc(section.name)}</div>\n'
        f'<div class="list-news">{"".join(_item(ctx, a) for a in posts)}</div>\n'
        + (
            load_more(ctx, section)
            if section.slug == SCRIPTED_SECTION and current == 1
            else _paging(ctx, section, current, last)
        )
    )
    return page(ctx, title=f"{section.name} | {SITE_NAME}", head=head, main=main)


def home_page(ctx: Ctx) -> str:
    head = f'<link rel="canonical" href="{ctx.base}" />'
    main = (
        '<div class="cate-title">Tin mới nhất</div>\n<div class="list-news">'
        + "".join(_item(ctx, a) for a in ctx.site.latest(10))
        + "</div>"
    )
    return page(ctx, title=SITE_NAME, head=head, main=main)


def simple_page(ctx: Ctx, title: str, inner: str, canonical: str) -> str:
    head = f'<link rel="canonical" href="{escape(canonical)}" />'
    main = (
        f'<div class="page-content"><div class="page-title">{ctx.esc(title)}</div>\n{inner}\n</div>'
    )
    return page(ctx, title=f"{title} | {SITE_NAME}", head=head, main=main)
