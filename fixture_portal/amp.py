"""The AMP twin of an article (/<slug>.html/amp), as the WordPress AMP plugin renders it.

Theme-independent: the plugin has its own template. Its canonical link names the main URL.
"""

from __future__ import annotations

from .htmlutil import SITE_NAME, Ctx, escape, vn_datetime
from .model import Article

BOILERPLATE = (
    "<style amp-boilerplate>body{-webkit-animation:-amp-start 8s steps(1,end) 0s "
    "1 normal both;animation:-amp-start 8s steps(1,end) 0s 1 normal both}"
    "@keyframes -amp-start{from{visibility:hidden}to{visibility:visible}}</style>"
    "<noscript><style amp-boilerplate>body{-webkit-animation:none;animation:none}"
    "</style></noscript>"
)


def amp_page(ctx: Ctx, a: Article) -> str:
    section = ctx.site.section(a.section)
    images = {img.after: img for img in a.images}
    body = [f"<p><strong>{escape(a.sapo)}</strong></p>"] if a.sapo else []
    for i, para in enumerate(a.paragraphs):
        body.append(f"<p>{escape(para)}</p>")
        img = images.get(i)
        if img:
            caption = f"<figcaption>{escape(img.caption)}</figcaption>" if img.caption else ""
            body.append(
                f'<figure class="wp-caption aligncenter"><amp-img src="'
                f'{escape(img.src(ctx.base))}" width="800" height="533" '
                f'layout="intrinsic"></amp-img>{caption}</figure>'
            )
    if a.author:
        body.append(f'<p style="text-align:right"><strong>{escape(a.author)}</strong></p>')
    if a.source_note:
        body.append(f"<p><em>{escape('Nguồn. ' + a.source_note)}</em></p>")
    content = "\n".join(body)
    category = (
        f'<a href="{ctx.url(section.path)}" rel="category tag">{escape(section.name)}</a>'
        if section.listed
        else escape(section.name)
    )
    return f"""<!doctype html>
<html amp lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,minimum-scale=1,initial-scale=1">
<title>{escape(a.title)} – {escape(SITE_NAME)}</title>
<link rel="canonical" href="{escape(a.url(ctx.base))}">
<script async src="https://cdn.ampproject.org/v0.js"></script>
{BOILERPLATE}
<style amp-custom>body{{font-family:Arial,sans-serif}}.amp-wp-title{{font-size:1.6em}}</style>
</head>
<body>
<header id="top" class="amp-wp-header">
<div><a href="{ctx.base}">{escape(SITE_NAME)}</a></div>
</header>
<article class="amp-wp-article">
<header class="amp-wp-article-header">
<h1 class="amp-wp-title">{escape(a.title)}</h1>
<div class="amp-wp-meta amp-wp-posted-on"><time datetime="{a.published.isoformat()}">
{escape(vn_datetime(a.published))}</time></div>
</header>
<div class="amp-wp-article-content">
{content}
</div>
<footer class="amp-wp-article-footer">
<div class="amp-wp-meta amp-wp-tax-category">Chuyên mục:
{category}</div>
</footer>
</article>
<footer class="amp-wp-footer"><p>&copy; {escape(SITE_NAME)}</p>
<a href="#top" class="back-to-top">Lên đầu trang</a></footer>
</body>
</html>
"""
