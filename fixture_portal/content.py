"""Post content that was stored badly in the CMS, so it looks the same under any theme.

``legacy``: a post pasted from an old editor: <font>, <b>, <center>, paragraphs separated
by <br><br> in one <div>, hard line breaks inside paragraphs.
``malformed``: unclosed tags, misnested inline tags and stray </div>s that close the
theme's own containers; lxml recovers the text in order.
"""

from __future__ import annotations

import textwrap

from .htmlutil import Ctx, escape
from .model import Article


def special_content(ctx: Ctx, a: Article) -> str | None:
    """The content block for a badly stored post, or None for a normal one."""
    if a.quirk == "legacy":
        return _legacy(ctx, a)
    if a.quirk == "malformed":
        return _malformed(ctx, a)
    return None


def _wrapped(ctx: Ctx, text: str) -> str:
    # Old editors hard-wrapped lines; the newlines are whitespace to a reader.
    return "\n".join(ctx.esc(line) for line in textwrap.wrap(text, 96))


def _legacy(ctx: Ctx, a: Article) -> str:
    parts = [f"<b>{ctx.esc(a.sapo)}</b>"] if a.sapo else []
    images = {img.after: img for img in a.images}
    for i, para in enumerate(a.paragraphs):
        parts.append(_wrapped(ctx, para))
        img = images.get(i)
        if img:
            caption = (
                f'<br><font size="2"><i>{ctx.esc(img.caption)}</i></font>' if img.caption else ""
            )
            parts.append(
                f'<center><img src="{escape(img.src(ctx.base))}" border="0" width="500">'
                f"{caption}</center>"
            )
    tail = []
    if a.author:
        tail.append(f"<b>{ctx.esc(a.author)}</b>")
    if a.source_note:
        tail.append(ctx.esc(f"Nguồn. {a.source_note}"))
    body = "<br><br>\n".join(parts) + ("<br><br>\n" + "<br>\n".join(tail) if tail else "")
    return f'<div align="justify"><font face="Times New Roman" size="3">\n{body}\n</font></div>'


def _malformed(ctx: Ctx, a: Article) -> str:
    images = {img.after: img for img in a.images}
    out = ['<div class="noidung">']
    if a.sapo:
        out.append(f"<p><strong>{ctx.esc(a.sapo)}</p>")
    for i, para in enumerate(a.paragraphs):
        if i == 1:
            out.append(f'<p><span style="font-size: 12pt;">{ctx.esc(para)}</p>')
        else:
            out.append(f"<p>{ctx.esc(para)}")  # no </p>
        if i == 0:
            out.append("</div></div>")  # stray: closes the theme's containers early
        img = images.get(i)
        if img:
            caption = f'<p class="wp-caption-text">{ctx.esc(img.caption)}' if img.caption else ""
            src = escape(img.src(ctx.base))
            out.append(
                f'<div class="wp-caption aligncenter"><img src="{src}" width="800" '
                f'height="533">{caption}</div>'
            )
    if a.author:
        out.append(f'<p style="text-align: right;"><b><i>{ctx.esc(a.author)}</b></i></p>')
    if a.source_note:
        out.append(f"<p>{ctx.esc('Nguồn. ' + a.source_note)}</p>")
    out.append('<div class="clear">')  # never closed
    return "\n".join(out)
