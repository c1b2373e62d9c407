"""What both themes share: the render context, escaping, Vietnamese dates, menu and footer data."""

from __future__ import annotations

import calendar
import html
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from html.entities import codepoint2name
from urllib.parse import quote

from .model import Article, Site

SITE_NAME = "Cổng tin tức Thành phố Hải Phòng"
WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
MONTHS = (
    "Một",
    "Hai",
    "Ba",
    "Tư",
    "Năm",
    "Sáu",
    "Bảy",
    "Tám",
    "Chín",
    "Mười",
    "Mười Một",
    "Mười Hai",
)
LOGO = "wp-content/uploads/2021/08/logo-cong-tin-tuc.jpg"
FANPAGE_QR = "wp-content/uploads/2022/05/qr-fanpage.jpg"
# Menu entries that are not sections: (label, target relative to the base or absolute).
MENU_HEAD = (("Trang chủ", ""),)
MENU_TAIL = (("Liên hệ", "lien-he/"), ("Cổng TTĐT thành phố", "https://haiphong.gov.vn/"))
FOOTER_LINKS = (
    ("Facebook", "https://www.facebook.com/congtintuchaiphong"),
    ("YouTube", "https://www.youtube.com/@congtintuchaiphong"),
    ("Cổng Thông tin điện tử thành phố", "https://haiphong.gov.vn/"),
    ("Báo Hải Phòng", "https://baohaiphong.vn/"),
    ("Hệ thống nội bộ", "noi-bo/"),
)


def escape(text: str) -> str:
    return html.escape(text, quote=True)


def entity_escape(text: str) -> str:
    """Escape every non-ASCII character as an entity, as some old editors saved posts:
    named where HTML has a name (&agrave; &ocirc;), numeric otherwise (&#7889;, &#x1EA1;)."""
    out = []
    for ch in html.escape(text, quote=True):
        cp = ord(ch)
        if cp < 128:
            out.append(ch)
        elif cp in codepoint2name:
            out.append(f"&{codepoint2name[cp]};")
        else:
            out.append(f"&#x{cp:X};" if cp % 3 == 0 else f"&#{cp};")
    return "".join(out)


@dataclass(frozen=True)
class Ctx:
    """Everything a template needs besides the page's own data."""

    site: Site
    base: str
    esc: Callable[[str], str] = field(default=escape)
    meta_charset: bool = True

    def url(self, target: str = "") -> str:
        """Absolute URL of a site-relative target; absolute targets pass through."""
        return target if "://" in target else self.base + target

    def a(self, target: str, text: str, attrs: str = "") -> str:
        extra = f" {attrs}" if attrs else ""
        return f'<a href="{escape(self.url(target))}"{extra}>{self.esc(text)}</a>'

    def menu(self) -> list[tuple[str, str]]:
        sections = [(s.name, s.path) for s in self.site.sections if s.listed]
        return [*MENU_HEAD, *sections, *MENU_TAIL]


def excerpt(a: Article) -> str:
    """What listings and feeds show of a post: its sapo, else WordPress's automatic
    excerpt (the first 55 words of the content)."""
    if a.sapo:
        return a.sapo
    return " ".join(" ".join(a.paragraphs).split()[:55]) + " […]"


def vn_datetime(dt: datetime) -> str:
    """'Thứ Sáu, 31/03/2023 07:45', the portal's header-line date."""
    return f"{WEEKDAYS[dt.weekday()]}, {dt:%d/%m/%Y %H:%M}"


def vn_date(dt: datetime | date) -> str:
    return f"{dt:%d/%m/%Y}"


def calendar_weeks(year: int, month: int) -> list[list[int]]:
    """Weeks of the month, Monday first, 0 for days outside it."""
    return calendar.Calendar(firstweekday=0).monthdayscalendar(year, month)


def month_caption(year: int, month: int) -> str:
    return f"Tháng {MONTHS[month - 1]} {year}"


def day_target(day: date) -> str:
    return f"lich/?ngay={day.isoformat()}"


def qr_src(url: str) -> str:
    """The per-article QR code comes from an off-site generator, as on the live site."""
    return f"https://api.qrserver.com/v1/create-qr-code/?size=150x150&data={quote(url, safe='')}"
