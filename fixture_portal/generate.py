"""build_site(): generate a deterministic Site from an integer seed.

Posts are drafted as plain dicts, the hard cases are forced onto chosen drafts, then
ids (chronological, with gaps as WordPress leaves them), slugs and "Tin khác" lists are
assigned and everything is frozen into the model.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

from . import related
from .model import (
    CUES,
    SCRIPTED_SECTION,
    TRAP_SECTION,
    TZ,
    UNLISTED_SECTION,
    Article,
    Image,
    Link,
    Section,
    Site,
)
from .text import TextGen, slugify

SECTIONS = (
    Section("tin-tuc-su-kien", "Tin tức - Sự kiện"),
    Section("kinh-te", "Kinh tế"),
    Section("van-hoa-xa-hoi", "Văn hóa - Xã hội"),
    Section("quoc-phong-an-ninh", "Quốc phòng - An ninh"),
    Section("chinh-quyen", "Chính quyền"),
    Section("xay-dung-dang", "Xây dựng Đảng"),
    Section("thong-bao", "Thông báo"),
    Section(TRAP_SECTION, "Lịch công tác"),
    # Documents: out of the menu and every listing; its posts are found through Tin khác.
    Section(UNLISTED_SECTION, "Tài liệu", listed=False),
)
REGULAR_SECTIONS = tuple(s.slug for s in SECTIONS if s.slug != TRAP_SECTION and s.listed)
START = datetime(2019, 1, 1, tzinfo=TZ)
END = datetime(2026, 6, 30, 23, 59, tzinfo=TZ)
SEED_SLUG = (
    "quan-uy-ngo-quyen-chu-dong-doi-moi-sang-tao-trong-thuc-hien-cac-chi-tieu-"
    "nhiem-vu-ngay-nhung-thang-dau-nam"
)
SEED_TEXT = Path(__file__).with_name("data") / "quan-uy-ngo-quyen.txt"
MAX_SLUG = 200  # WordPress cuts post names at 200 characters
QUIRKS = ("nfd", "entities", "legacy", "malformed", "wrong_charset", "no_charset")
# Hard cases that are properties of an ordinary listed article.
PROPERTY_CASES = (
    "no_author",
    "initials_author",
    "source_line",
    "no_image",
    "modified",
    "no_goc",
    "long_slug",
    "digit_slug",
    "photon",
)
N_SPECIAL = 8  # seed + 3 lịch công tác + 3 Tin-khác-only + 1 disallowed
# Posts added after the rest, from their own generator (the others stay as they were):
# name -> (in the unlisted section, has a sapo, quirk, cues its page leaves out).
CUE_CASES = {
    "no_sapo": (False, False, "", ()),
    "no_sapo_legacy": (False, False, "legacy", ()),
    "no_breadcrumb": (False, True, "", ("breadcrumb",)),
    "no_meta": (False, True, "", ("meta",)),
    "no_post_class": (False, True, "", ("post_class",)),
    "no_section_cues": (False, True, "", CUES),
    "unlisted_section": (True, True, "", ()),
    "unlisted_section_no_breadcrumb": (True, True, "", ("breadcrumb",)),
    "unlisted_section_no_meta": (True, True, "", ("meta",)),
    "unlisted_section_no_post_class": (True, True, "", ("post_class",)),
    "unlisted_section_no_cues": (True, False, "", CUES),
}


def build_site(seed: int = 1, n_articles: int = 160, article_kib: float | None = None) -> Site:
    """A deterministic site with ``n_articles`` real articles, plus the CUE_CASES posts and 3
    bad-input posts. ``article_kib``: pad ordinary articles' bodies with more generated
    paragraphs, to pages of about that many KiB of HTML (classic theme); None: as generated
    (about 18 KiB)."""
    if n_articles < 150:
        raise ValueError(f"n_articles must be at least 150, got {n_articles}")
    rng = random.Random(seed)
    gen = TextGen(rng)
    titles: set[str] = set()
    drafts = [_seed_draft()]
    titles.add(drafts[0]["title"])
    for _ in range(n_articles - N_SPECIAL):
        drafts.append(_draft(rng, gen, titles, rng.choice(REGULAR_SECTIONS), _when(rng)))
    regular = drafts[1:]
    for week in rng.sample(range(1, 27), 3):
        when = END.replace(hour=8, minute=0) - timedelta(days=7 * (26 - week))
        d = _draft(rng, gen, titles, TRAP_SECTION, when)
        d["title"] = f"Lịch công tác tuần {week} năm {END.year} của Thường trực UBND thành phố"
        drafts.append(d)
    for _ in range(3):
        drafts.append(
            _draft(rng, gen, titles, rng.choice(REGULAR_SECTIONS), _when(rng), listed=False)
        )
    hidden = drafts[-3:]
    noi_bo = _draft(rng, gen, titles, "xay-dung-dang", _when(rng))
    noi_bo["title"] = f"Nội bộ: Kế hoạch kiểm tra công tác Đảng năm {noi_bo['published'].year}"
    drafts.append(noi_bo)
    for kind in ("empty", "not_html", "no_title"):
        drafts.append(_draft(rng, gen, titles, rng.choice(REGULAR_SECTIONS), _when(rng), kind=kind))

    picks = iter(rng.sample(regular, len(QUIRKS) + len(PROPERTY_CASES) + 7))
    cases = {"seed": drafts[0]}
    for quirk in QUIRKS:
        cases[quirk] = d = next(picks)
        d["quirk"] = quirk
        _ensure_image_and_author(rng, gen, d)
    for name in PROPERTY_CASES:
        cases[name] = next(picks)
    _force_properties(rng, gen, titles, cases)
    cases["disallowed"] = noi_bo
    for name, d in zip(
        ("tin_khac_only_1", "tin_khac_only_2", "tin_khac_only_3"), hidden, strict=True
    ):
        cases[name] = d
    for name in ("empty", "not_html", "no_title"):
        cases[name] = next(d for d in drafts if d["kind"] == name)
    hosts = {name: next(picks) for name in ("host_a", "host_b", "host_c", "host_d", "host_e")}
    alias_targets = [next(picks), next(picks)]

    used: set[str] = set()
    for d in drafts:
        d["slug"] = unique_slug(d.get("slug") or slugify(d["title"]), used)
    _assign_ids(rng, drafts)
    _assign_listing_targets(rng, [d for d in regular if d["kind"] == "article" and not d["quirk"]])

    def special() -> tuple[str, str]:
        """(slug, title) of a linked URL that is not an article."""
        title = gen.title(rng.choice(REGULAR_SECTIONS), rng.randint(2019, 2026))
        return unique_slug(slugify(title), used), title

    specials = {
        name: special() for name in ("alias_1", "alias_2", "missing", "error", "loop_a", "loop_b")
    }
    related.assign(rng, gen, drafts, hosts, cases, alias_targets, specials)
    for name, d in hosts.items():
        cases[name] = d
    _plant_cue_cases(seed, drafts, cases, titles, used)
    if article_kib is not None:
        _pad(seed, [d for d in drafts if d is not drafts[0]], article_kib)
    articles = sorted((_freeze(d) for d in drafts), key=lambda a: (a.published, a.id), reverse=True)
    return Site(
        seed=seed,
        sections=SECTIONS,
        articles=tuple(articles),
        hard_cases={name: d["slug"] for name, d in cases.items()},
        alias_slugs={
            specials["alias_1"][0]: alias_targets[0]["slug"],
            specials["alias_2"][0]: alias_targets[1]["slug"],
        },
        loop_slugs=(specials["loop_a"][0], specials["loop_b"][0]),
        missing_slug=specials["missing"][0],
        error_slug=specials["error"][0],
    )


def _plant_cue_cases(seed: int, drafts: list[dict], cases: dict, titles: set, used: set) -> None:
    """The CUE_CASES posts; each one of the unlisted section replaces the last Tin khác
    link of an ordinary listed post, its only way in."""
    rng = random.Random(f"fixture-portal-cues:{seed}")
    gen = TextGen(rng)
    special = {id(d) for d in cases.values()}
    pool = [
        d
        for d in drafts
        if d["kind"] == "article" and d["listed"] and not d["quirk"] and id(d) not in special
        if d["section"] in REGULAR_SECTIONS and not d["slug"].startswith("noi-bo-")
    ]
    # Older than what the home page, sidebar and feed show: those stay as they were.
    cutoff = sorted((d["published"] for d in pool), reverse=True)[15]
    sections = [s for s in REGULAR_SECTIONS if s != SCRIPTED_SECTION]
    by_section: dict[str, list[dict]] = {}
    for d in sorted(pool, key=lambda d: (d["published"], d["id"])):
        by_section.setdefault(d["section"], []).append(d)
    newest_first = sorted(pool, key=lambda d: (d["published"], d["id"]), reverse=True)
    hosts = iter(rng.sample(pool, len(CUE_CASES)))
    post_id = max(d["id"] for d in drafts)
    for name, (unlisted, has_sapo, quirk, absent) in CUE_CASES.items():
        when = _when(rng)
        while when >= cutoff:
            when = _when(rng)
        section = UNLISTED_SECTION if unlisted else rng.choice(sections)
        d = _draft(rng, gen, titles, section, when, listed=not unlisted)
        post_id += rng.randint(2, 9)
        d.update(id=post_id, quirk=quirk, absent=frozenset(absent))
        d["slug"] = unique_slug(slugify(d["title"]), used)
        if not has_sapo:
            d["sapo"] = None
        if quirk:
            _ensure_image_and_author(rng, gen, d)
        if "meta" in absent:  # the modified time is only in a meta tag
            d["modified"] = d["published"] + timedelta(hours=5)
        neighbours = related._neighbours(d, by_section.get(section, []), newest_first)
        d["related"] = [Link(f"{t['slug']}.html", t["title"]) for t in neighbours]
        host = next(hosts)
        if unlisted:
            host["related"][-1] = Link(f"{d['slug']}.html", d["title"])
        cases[name] = d
        drafts.append(d)


# HTML of an article page around its sapo and paragraphs (classic theme: 12-23 KB, 14.7 KB on
# average; alt: 10.8 KB).
PAGE_FURNITURE_BYTES = 14_700


def _pad(seed: int, drafts: list[dict], article_kib: float) -> None:
    """More paragraphs at the end of each ordinary article (no quirk: their markup is the
    point), from their own generator, until its page is about ``article_kib`` KiB."""
    rng = random.Random(f"fixture-portal-pad:{seed}")
    gen = TextGen(rng)
    for d in drafts:
        if d["kind"] != "article" or d["quirk"]:
            continue
        size = len((d["sapo"] or "").encode()) + sum(len(p.encode()) for p in d["paragraphs"])
        while size + PAGE_FURNITURE_BYTES < article_kib * 1024:
            paragraph = gen.paragraph(d["section"])
            d["paragraphs"].append(paragraph)
            size += len(paragraph.encode()) + len("<p></p>\n")


def _when(rng: random.Random) -> datetime:
    minutes = rng.randrange(int((END - START).total_seconds() // 60))
    when = START + timedelta(minutes=minutes)
    # Newsrooms publish in the daytime.
    return when.replace(hour=rng.randint(6, 21))


def _draft(
    rng,
    gen: TextGen,
    titles: set[str],
    section: str,
    when: datetime,
    listed: bool = True,
    kind: str = "article",
) -> dict:
    title = gen.title(section, when.year)
    while title in titles:
        title = gen.title(section, when.year)
    titles.add(title)
    paragraphs = gen.paragraphs(section)
    return {
        "title": title,
        "section": section,
        "published": when,
        "sapo": gen.sapo(section, when),
        "paragraphs": paragraphs,
        "images": _images(rng, gen, section, when, len(paragraphs)),
        "author": _author(rng, gen),
        "source_note": _source_note(rng),
        "goc": goc_url(rng, title) if rng.random() < (0.4 if when.year < 2021 else 0.92) else None,
        "modified": (
            when + timedelta(minutes=rng.randint(30, 43200)) if rng.random() < 0.2 else None
        ),
        "listed": listed,
        "kind": kind,
        "quirk": "",
        "listing_target": "",
        "related": [],
    }


def _author(rng: random.Random, gen: TextGen) -> str | None:
    roll = rng.random()
    if roll < 0.12:
        return None
    return gen.initials() if roll < 0.22 else gen.author()


def _source_note(rng: random.Random) -> str | None:
    roll = rng.random()
    if roll < 0.08:
        return "haiphong.gov.vn"
    return "baohaiphong.vn" if roll < 0.1 else None


def goc_url(rng: random.Random, title: str) -> str:
    """A post's "Gốc" link: its story on the city paper's site or on the city's."""
    slug = slugify(title)[:80].rstrip("-")
    if rng.random() < 0.7:
        return f"https://baohaiphong.vn/{slug}-{rng.randint(300000, 499999)}.html"
    return f"https://haiphong.gov.vn/tin-tuc-su-kien/{slug}.html"


def _images(rng, gen: TextGen, section: str, when: datetime, n_paragraphs: int) -> list[Image]:
    count = rng.choices((0, 1, 2, 3), weights=(20, 40, 25, 15))[0]
    slots = sorted(rng.sample(range(n_paragraphs - 1), min(count, n_paragraphs - 1)))
    return [new_image(rng, gen, section, when, after) for after in slots]


def new_image(
    rng, gen: TextGen, section: str, when: datetime, after: int, photon: bool | None = None
) -> Image:
    """An image uploaded at ``when``, shown after paragraph ``after``; ``photon`` (served
    through the CDN) is drawn when not given."""
    name = rng.choice(
        (
            f"z{rng.randrange(10**12, 10**13)}_{rng.getrandbits(64):016x}",
            f"anh-{rng.randint(1, 40)}-{rng.randrange(100000, 999999)}",
            f"img_{rng.randint(1000, 9999)}",
        )
    )
    return Image(
        path=f"wp-content/uploads/{when.year}/{when.month:02d}/{name}.jpg",
        caption=gen.caption(section) if rng.random() < 0.9 else None,
        after=after,
        photon=rng.random() < 0.25 if photon is None else photon,
        variant=rng.randrange(2),
    )


def _ensure_image_and_author(rng, gen: TextGen, d: dict) -> None:
    """Encoding quirks matter most where there is a caption and an author line to find."""
    if len(d["paragraphs"]) < 3:
        d["paragraphs"].append(gen.paragraph(d["section"]))
    if not any(img.caption for img in d["images"]):
        img = new_image(rng, gen, d["section"], d["published"], 0)
        d["images"] = [Image(img.path, gen.caption(d["section"]), 0, img.photon, img.variant)]
    d["author"] = d["author"] or gen.author()


def _force_properties(rng, gen: TextGen, titles: set[str], cases: dict[str, dict]) -> None:
    cases["no_author"].update(author=None, source_note=None)
    cases["initials_author"]["author"] = "V.H.N"
    cases["source_line"].update(author=gen.author(), source_note="haiphong.gov.vn", goc=None)
    cases["no_image"]["images"] = []
    d = cases["modified"]
    d["modified"] = d["published"] + timedelta(days=2, hours=3, minutes=17)
    cases["no_goc"].update(goc=None, source_note=None)
    d = cases["photon"]
    if len(d["paragraphs"]) < 2:
        d["paragraphs"].append(gen.paragraph(d["section"]))
    d["images"] = [new_image(rng, gen, d["section"], d["published"], 0, photon=True)]
    for name, make in (
        ("long_slug", lambda s, y: gen.long_title(s)),
        ("digit_slug", gen.digit_title),
    ):
        d = cases[name]
        titles.discard(d["title"])
        d["title"] = make(d["section"], d["published"].year)
        while d["title"] in titles:
            d["title"] = make(d["section"], d["published"].year)
        titles.add(d["title"])


def unique_slug(slug: str, used: set[str]) -> str:
    """``slug`` cut as WordPress cuts it, with "-2", "-3"… if taken; added to ``used``."""
    slug = slug[:MAX_SLUG].rstrip("-")
    candidate, n = slug, 2
    while candidate in used:
        candidate, n = f"{slug}-{n}", n + 1
    used.add(candidate)
    return candidate


def _assign_ids(rng: random.Random, drafts: list[dict]) -> None:
    # Chronological ids with gaps: attachments and revisions use ids in between.
    post_id = 1024
    for d in sorted(drafts, key=lambda d: d["published"]):
        post_id += rng.randint(2, 9)
        d["id"] = post_id


def _assign_listing_targets(rng: random.Random, plain: list[dict]) -> None:
    """A few listing links point at the AMP twin or carry a tracking query or a "/"."""
    variants = ("{}.html/amp", "{}.html?utm_source=facebook&utm_medium=social", "{}.html/")
    chosen = rng.sample(plain, 12)
    for i, d in enumerate(chosen):
        d["listing_target"] = variants[i % len(variants)].format(d["slug"])


def _seed_draft() -> dict:
    """The real article from the design's seed, text exactly as the portal shows it."""
    blocks = [b.strip() for b in SEED_TEXT.read_text(encoding="utf-8").split("\n\n")]
    if not blocks[0].startswith("Print ") or not blocks[-1].startswith("Tiện ích thông tin"):
        raise ValueError(f"unexpected layout of {SEED_TEXT}")
    sapo, body1, caption, *rest = blocks[1:-1]
    *body_rest, author = rest
    title = next(line for line in blocks[-1].splitlines() if line.startswith("QR CODE: "))
    when = datetime(2023, 3, 31, 7, 45, tzinfo=TZ)
    return {
        "title": title.removeprefix("QR CODE: "),
        "slug": SEED_SLUG,
        "section": "xay-dung-dang",
        "published": when,
        "modified": None,
        "sapo": sapo,
        "paragraphs": [body1, *body_rest],
        "images": [
            Image(
                "wp-content/uploads/2023/03/dong-chi-dao-khanh-ha-hoi-nghi-quan-uy-ngo-quyen.jpg",
                caption,
                0,
                False,
                0,
            )
        ],
        "author": author,
        "source_note": None,
        "goc": "https://baohaiphong.vn/quan-uy-ngo-quyen-chu-dong-doi-moi-sang-tao-385412.html",
        "listed": True,
        "kind": "article",
        "quirk": "",
        "listing_target": "",
        "related": [],
    }


def _freeze(d: dict) -> Article:
    return Article(
        id=d["id"],
        slug=d["slug"],
        title=d["title"],
        section=d["section"],
        published=d["published"],
        modified=d["modified"],
        sapo=d["sapo"],
        paragraphs=tuple(d["paragraphs"]),
        images=tuple(d["images"]),
        author=d["author"],
        source_note=d["source_note"],
        goc=d["goc"],
        related=tuple(d["related"]),
        kind=d["kind"],
        quirk=d["quirk"],
        listed=d["listed"],
        listing_target=d["listing_target"],
        absent=d.get("absent", frozenset()),
    )
