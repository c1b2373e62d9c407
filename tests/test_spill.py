"""What a crawl keeps of every page until its end stays off its memory: the pages asked for
and the versions archived in a map on disk (crawler/incremental/spill.py), URL sets as
digests (crawler/urls.py UrlSet). Both behave as the dict and the set they replace."""

from __future__ import annotations

import pickle
import tracemalloc

import pytest

from crawler.incremental.frontier import ARTICLE, PendingPage, RunProgress
from crawler.incremental.spill import SpillMap
from crawler.incremental.state import ArticleCapture, KnownArticle
from crawler.urls import UrlSet

URLS = [f"https://portal.test/bai-viet-so-{n}-ve-mot-su-kien-cua-thanh-pho.html" for n in range(40)]


def test_a_spill_map_behaves_as_a_dict():
    spilled, plain = SpillMap(), {}
    for mapping in (spilled, plain):
        for n, url in enumerate(URLS):
            mapping[url] = PendingPage(url, ARTICLE, via=URLS[0], section={"slug": f"s{n % 3}"})
        mapping[URLS[5]] = "replaced"  # keeps its first place
        del mapping[URLS[7]]
        assert mapping.setdefault(URLS[9], "other").url == URLS[9]
        assert mapping.setdefault("https://portal.test/new.html", "new") == "new"
        assert mapping.pop(URLS[11]).url == URLS[11]
    assert list(spilled) == list(plain)
    assert list(spilled.items()) == list(plain.items())
    assert len(spilled) == len(plain) == 39
    assert URLS[5] in spilled and URLS[7] not in spilled and 7 not in spilled
    assert spilled[URLS[5]] == "replaced" and spilled.get(URLS[7]) is None
    with pytest.raises(KeyError):
        spilled[URLS[7]]
    with pytest.raises(KeyError):
        del spilled[URLS[7]]
    copy = pickle.loads(pickle.dumps(spilled))
    assert isinstance(copy, SpillMap) and list(copy.items()) == list(plain.items())
    assert spilled == plain and dict(spilled) == plain


def test_a_spill_map_holds_versions_as_they_were():
    capture = ArticleCapture(
        "c1", "a.warc.gz", 10, 20, "<urn:uuid:1>", "2026-12-02T00:00:00Z", None
    )
    article = KnownArticle(URLS[0], 2, "ab" * 32, "2026-01-01T08:00:00+07:00", None, None,
                           capture, images=(URLS[1],))  # fmt: skip
    versions = SpillMap()
    versions[article.url] = article
    assert versions[article.url] == article


def test_the_pages_a_run_asks_for_do_not_stay_in_memory():
    """RunProgress.asked gets one entry per article and image of the portal: none of it may
    stay on the Python heap (a dict of PendingPage held about 300 bytes an entry)."""
    run = RunProgress()
    run.ask("https://portal.test/warm-up.html", ARTICLE, via=None, section=None)
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for n in range(5000):
            url = f"https://portal.test/bai-viet-{n:05d}-mot-tieu-de-dai-cua-bai-bao.html"
            run.ask(url, ARTICLE, via="https://portal.test/chuyen-muc/page/3/", section=None)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert grown < 5000 * 20, f"{grown / 5000:.0f} bytes per page asked for"
    assert len(run.asked) == 5001


def test_a_url_set_behaves_as_a_set():
    urls = UrlSet(URLS[:10])
    urls.add(URLS[10])
    urls.update(URLS[11:15])
    assert all(url in urls for url in URLS[:15]) and URLS[15] not in urls
    assert urls.issuperset(URLS[3:12]) and not urls.issuperset(URLS[10:20])
    assert len(urls) == 15
    copy = urls.copy()
    copy.add(URLS[20])
    assert URLS[20] not in urls and len(copy) == 16
    copy |= UrlSet(URLS[30:32])
    assert URLS[31] in copy and len(copy) == 18
    restored = pickle.loads(pickle.dumps(copy))
    assert restored == copy and URLS[31] in restored
    assert "https://portal.test/\udcff.html" not in urls  # any str, lone surrogates too
