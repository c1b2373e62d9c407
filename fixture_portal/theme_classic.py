"""The "classic" theme: markup of a typical WordPress news theme with Yoast SEO.

Head: canonical, shortlink, og:*, article:* meta. Body: body.postid-N, article#post-N,
h1.entry-title, div.entry-content of <p>s, captions as figure.wp-caption/figcaption or
div.wp-caption/p.wp-caption-text, a sidebar of widgets after the content.
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

ASSET_VERSION = "2.3.1"
STYLE = "wp-content/themes/hpnews/style.css"
SCRIPT = "wp-content/themes/hpnews/js/main.js"


def page(ctx: Ctx, *, title: str, head: str, body_class: str, main: str) -> str:
    charset = '<meta charset="UTF-8">\n' if ctx.meta_charset else ""
    return f"""<!DOCTYPE html>
<html lang="vi">
<head>
{charset}<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{ctx.esc(title)}</title>
{head}
<link rel="alternate" type="application/rss+xml"
 title="{ctx.esc(SITE_NAME)} &raquo; Dòng thông tin" href="{ctx.url("feed/")}">
<link rel="stylesheet" id="hpnews-style-css"
 href="{ctx.url(STYLE)}?ver={ASSET_VERSION}" media="all">
<script src="{ctx.url(SCRIPT)}?ver={ASSET_VERSION}" id="hpnews-main-js"></script>
</head>
<body class="{body_class}">
<div id="page" class="site">
<a class="skip-link screen-reader-text" href="#content">Chuyển đến nội dung</a>
{_masthead(ctx)}
<div id="content" class="site-content">
<div id="primary" class="content-area">
<main id="main" class="site-main">
{main}
</main>
</div>
{_sidebar(ctx)}
</div>
{_footer(ctx)}
</div>
</body>
</html>
"""


def _masthead(ctx: Ctx) -> str:
    items = "\n".join(
        f'<li class="menu-item menu-item-{i}">{ctx.a(target, label)}</li>'
        for i, (label, target) in enumerate(ctx.menu(), start=101)
    )
    return f"""<header id="masthead" class="site-header">
<div class="site-branding">
<a href="{ctx.base}" class="custom-logo-link" rel="home"><img src="{ctx.url(LOGO)}"
 class="custom-logo" alt="{ctx.esc(SITE_NAME)}" width="420" height="90"></a>
<p class="site-title">{ctx.a("", SITE_NAME, 'rel="home"')}</p>
</div>
<nav id="site-navigation" class="main-navigation" aria-label="Menu chính">
<ul id="primary-menu" class="menu">
{items}
</ul>
</nav>
</header>"""


def _sidebar(ctx: Ctx) -> str:
    recent = "\n".join(
        f"<li>{ctx.a(a.listing_target or a.path, a.title)} "
        f'<span class="post-date">{vn_date(a.published)}</span></li>'
        for a in ctx.site.latest(5)
    )
    now = ctx.site.now
    rows = []
    for week in calendar_weeks(now.year, now.month):
        cells = "".join(
            f"<td>{ctx.a(day_target(now.date().replace(day=d)), str(d))}</td>"
            if d
            else '<td class="pad">&nbsp;</td>'
            for d in week
        )
        rows.append(f"<tr>{cells}</tr>")
    heads = "".join(
        f'<th scope="col" title="{t}">{t[:1]}</th>'
        for t in ("Hai", "Ba", "Tư", "Năm", "Sáu", "Bảy", "CN")
    )
    return f"""<aside id="secondary" class="widget-area">
<section id="recent-posts-2" class="widget widget_recent_entries">
<h2 class="widget-title">Tin mới</h2>
<ul>
{recent}
</ul>
</section>
<section id="calendar-2" class="widget widget_calendar">
<h2 class="widget-title">Lịch công tác</h2>
<div id="calendar_wrap" class="calendar_wrap">
<table id="wp-calendar" class="wp-calendar-table">
<caption>{ctx.esc(month_caption(now.year, now.month))}</caption>
<thead><tr>{heads}</tr></thead>
<tbody>
{"".join(rows)}
</tbody>
</table>
</div>
</section>
</aside>"""


def _footer(ctx: Ctx) -> str:
    links = " | ".join(
        ctx.a(target, label, 'target="_blank" rel="noopener"') for label, target in FOOTER_LINKS
    )
    return f"""<footer id="colophon" class="site-footer">
<div class="footer-links">{links}</div>
<div class="site-info">
<p>{ctx.esc(SITE_NAME)} - Cơ quan chủ quản: UBND thành phố Hải Phòng</p>
<p>{ctx.esc("Địa chỉ: Số 18 Hoàng Diệu, quận Hồng Bàng, thành phố Hải Phòng")}</p>
</div>
</footer>"""


def _figure(ctx: Ctx, a: Article, img: Image, n: int) -> str:
    if ctx.site.is_scripted(a):
        tag = img_tag(ctx, img)
    else:
        tag = (
            f'<img loading="lazy" class="size-full wp-image-{n}" src="{escape(img.src(ctx.base))}" '
            f'alt="" width="800" height="533">'
        )
    if img.caption is None:
        return f'<p style="text-align: center;">{tag}</p>'
    if img.variant == 0:
        return (
            f'<figure id="attachment_{n}" aria-describedby="caption-attachment-{n}" '
            f'style="width: 800px" class="wp-caption aligncenter">{tag}'
            f'<figcaption id="caption-attachment-{n}" class="wp-caption-text">'
            f"{ctx.esc(img.caption)}</figcaption></figure>"
        )
    return (
        f'<div id="attachment_{n}" style="width: 810px" class="wp-caption aligncenter">{tag}'
        f'<p class="wp-caption-text">{ctx.esc(img.caption)}</p></div>'
    )


def _entry_content(ctx: Ctx, a: Article) -> str:
    special = special_content(ctx, a)
    if special is not None:
        return special
    images = {img.after: (i, img) for i, img in enumerate(a.images)}
    out = [f"<p><strong>{ctx.esc(a.sapo)}</strong></p>"] if a.sapo else []
    for i, para in enumerate(a.paragraphs):
        out.append(f"<p>{ctx.esc(para)}</p>")
        if i in images:
            n, img = images[i]
            out.append(_figure(ctx, a, img, a.id + 1 + n))
    if a.author:
        out.append(f'<p style="text-align: right;"><strong>{ctx.esc(a.author)}</strong></p>')
    if a.source_note:
        out.append(
            f'<p style="text-align: right;"><em>{ctx.esc("Nguồn. " + a.source_note)}</em></p>'
        )
    return "\n".join(out)


def _furniture(ctx: Ctx, a: Article) -> str:
    return f"""<div class="tien-ich-box">
<h3 class="box-title">Tiện ích thông tin</h3>
<ul class="nav nav-tabs" role="tablist">
<li class="active"><a href="#tab-nguon-tin" data-toggle="tab">Nguồn tin</a></li>
<li><a href="#tab-qrcode" data-toggle="tab">QR Code</a></li>
</ul>
<div class="tab-content">
<div class="tab-pane active" id="tab-nguon-tin"></div>
<div class="tab-pane" id="tab-qrcode">
<img src="{escape(qr_src(a.url(ctx.base)))}" alt="QR Code" width="150" height="150">
<p class="qr-title">{ctx.esc("QR CODE: " + a.title)}</p>
</div>
</div>
</div>
<div class="social-box">
<h3 class="box-title">Chúng tôi trên Mạng Xã hội</h3>
<ul class="nav nav-tabs">
<li class="active"><a href="#tab-fanpage" data-toggle="tab">QR Code Fanpage</a></li>
</ul>
<div class="tab-pane active" id="tab-fanpage">
<img src="{ctx.url(FANPAGE_QR)}" alt="QR Code Fanpage" width="150" height="150">
<p>{ctx.esc("Mã QR Code truy cập vào Fanpage " + SITE_NAME)}</p>
</div>
</div>
<section class="related-posts">
<h3 class="related-title">Tin khác</h3>
{related_list(ctx, a, 'class="related-list"')}
</section>"""


def article_page(ctx: Ctx, a: Article) -> str:
    section = ctx.site.section(a.section)
    url = escape(a.url(ctx.base))
    og_image = a.images[0].src(ctx.base) if a.images else ctx.url(LOGO)
    modified = (
        f'<meta property="article:modified_time" content="{a.modified.isoformat()}">\n'
        if a.modified
        else ""
    )
    description = f'<meta name="description" content="{ctx.esc(a.sapo)}">\n' if a.sapo else ""
    og_description = (
        f'<meta property="og:description" content="{ctx.esc(a.sapo)}">\n' if a.sapo else ""
    )
    meta = f"""<meta property="og:locale" content="vi_VN">
<meta property="og:type" content="article">
<meta property="og:title" content="{ctx.esc(a.title)}">
{og_description}<meta property="og:url" content="{url}">
<meta property="og:site_name" content="{ctx.esc(SITE_NAME)}">
<meta property="article:section" content="{ctx.esc(section.name)}">
<meta property="article:published_time" content="{a.published.isoformat()}">
{modified}<meta property="og:image" content="{escape(og_image)}">
"""
    if not a.shows("meta"):
        description = meta = ""
    head = f"""{description}<link rel="canonical" href="{url}">
{meta}<link rel="amphtml" href="{url}/amp">
<link rel="shortlink" href="{ctx.base}?p={a.id}">
{article_scripts(ctx, a)}"""
    goc = (
        f' <a class="source-link" href="{escape(a.goc)}" target="_blank" '
        f'rel="nofollow noopener">Gốc</a>'
        if a.goc
        else ""
    )
    # A category without a listing is named, never linked.
    crumb = ctx.a(section.path, section.name) if section.listed else ctx.esc(section.name)
    breadcrumb = f"""<nav class="breadcrumbs" aria-label="breadcrumbs"><span>
<span>{ctx.a("", "Trang chủ")}</span> &raquo; <span>{crumb}</span>
&raquo; <span class="breadcrumb_last" aria-current="page">{ctx.esc(a.title)}</span>
</span></nav>
"""
    post_class = (
        f' class="post-{a.id} post type-post status-publish format-standard\n'
        f' hentry category-{section.slug}"'
    )
    category = ctx.a(section.path, section.name, 'rel="category tag"')
    cat_links = f'<span class="cat-links">{category}</span>\n'
    if not (section.listed and a.shows("category_link")):
        cat_links = ""
    if not a.shows("breadcrumb"):
        breadcrumb = ""
    if not a.shows("post_class"):
        post_class = ""
    main = f"""{breadcrumb}<article id="post-{a.id}"{post_class}>
<header class="entry-header">
{cat_links}<h1 class="entry-title">{ctx.esc(a.title)}</h1>
<div class="entry-meta">
<a class="print-link" href="{url}?print=1" rel="nofollow"><i class="fa fa-print"></i> Print</a>
<span class="posted-on"><time class="entry-date published"
 datetime="{a.published.isoformat()}">{ctx.esc(vn_datetime(a.published))}</time></span>{goc}
</div>
</header>
<div class="entry-content">
{_entry_content(ctx, a)}
</div>
</article>
{_furniture(ctx, a)}"""
    return page(
        ctx,
        title=f"{a.title} – {SITE_NAME}",
        head=head,
        main=main,
        body_class=f"post-template-default single single-post postid-{a.id} single-format-standard",
    )


def _pagination(ctx: Ctx, section: Section, current: int, last: int | None) -> str:
    def target(n: int) -> str:
        return section.path if n == 1 else f"{section.path}page/{n}/"

    shown = sorted({1, current - 1, current, current + 1} | ({last} if last else set()))
    parts = []
    if current > 1:
        parts.append(ctx.a(target(current - 1), "« Trước", 'class="prev page-numbers"'))
    previous = 0
    for n in shown:
        if n < 1 or (last and n > last):
            continue
        if n > previous + 1:
            parts.append('<span class="page-numbers dots">…</span>')
        parts.append(
            f'<span aria-current="page" class="page-numbers current">{n}</span>'
            if n == current
            else ctx.a(target(n), str(n), 'class="page-numbers"')
        )
        previous = n
    if last is None or current < last:
        parts.append(ctx.a(target(current + 1), "Sau »", 'class="next page-numbers"'))
    return (
        '<nav class="navigation pagination" aria-label="Phân trang bài viết">\n'
        '<h2 class="screen-reader-text">Phân trang bài viết</h2>\n'
        f'<div class="nav-links">{"".join(parts)}</div>\n</nav>'
    )


def _summary(ctx: Ctx, a: Article, heading: str = "h2") -> str:
    target = a.listing_target or a.path
    thumb = (
        f'<div class="post-thumbnail"><a href="{escape(ctx.url(target))}" aria-hidden="true">'
        f'<img src="{escape(a.images[0].src(ctx.base))}" class="attachment-medium '
        f'wp-post-image" alt="" width="300" height="200"></a></div>\n'
        if a.images
        else ""
    )
    title = ctx.a(target, a.title, 'rel="bookmark"')
    return f"""<article id="post-{a.id}"
 class="post-{a.id} post type-post status-publish hentry category-{a.section}">
{thumb}<header class="entry-header"><{heading} class="entry-title">{title}</{heading}>
<div class="entry-meta"><time class="entry-date published" datetime="{a.published.isoformat()}">
{vn_date(a.published)}</time></div></header>
<div class="entry-summary"><p>{ctx.esc(excerpt(a))}</p></div>
</article>"""


def listing_page(
    ctx: Ctx, section: Section, current: int, posts: list[Article], last: int | None
) -> str:
    def link(n: int) -> str:
        return ctx.url(section.path if n == 1 else f"{section.path}page/{n}/")

    head = [f'<link rel="canonical" href="{link(current)}">']
    if current > 1:
        head.append(f'<link rel="prev" href="{link(current - 1)}">')
    if last is None or current < last:
        head.append(f'<link rel="next" href="{link(current + 1)}">')
    head.append(f'<meta property="og:title" content="{ctx.esc(section.name)}">')
    main = (
        f'<header class="page-header"><h1 class="page-title">Chuyên mục: '
        f"<span>{ctx.esc(section.name)}</span></h1></header>\n"
        + "\n".join(_summary(ctx, a) for a in posts)
        + "\n"
        + (
            load_more(ctx, section)
            if section.slug == SCRIPTED_SECTION and current == 1
            else _pagination(ctx, section, current, last)
        )
    )
    suffix = f" - Trang {current}" if current > 1 else ""
    return page(
        ctx,
        title=f"{section.name}{suffix} – {SITE_NAME}",
        head="\n".join(head),
        main=main,
        body_class=f"archive category category-{section.slug}",
    )


def home_page(ctx: Ctx) -> str:
    head = (
        f'<link rel="canonical" href="{ctx.base}">\n'
        f'<meta property="og:type" content="website">\n'
        f'<meta property="og:title" content="{ctx.esc(SITE_NAME)}">'
    )
    main = (
        '<section class="latest-news"><h2 class="section-title">Tin mới nhất</h2>\n'
        + "\n".join(_summary(ctx, a, "h3") for a in ctx.site.latest(10))
        + "\n</section>"
    )
    return page(
        ctx,
        title=f"{SITE_NAME} – Thông tin chính thống của thành phố",
        head=head,
        main=main,
        body_class="home blog",
    )


def simple_page(ctx: Ctx, title: str, inner: str, canonical: str) -> str:
    head = f'<link rel="canonical" href="{escape(canonical)}">'
    main = (
        f'<article class="page type-page status-publish hentry">\n<header class="entry-header">'
        f'<h1 class="entry-title">{ctx.esc(title)}</h1></header>\n'
        f'<div class="entry-content">\n{inner}\n</div>\n</article>'
    )
    return page(
        ctx,
        title=f"{title} – {SITE_NAME}",
        head=head,
        main=main,
        body_class="page-template-default page",
    )
