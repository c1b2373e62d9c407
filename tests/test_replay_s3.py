"""pywb replays articles whose WARCs are in S3 (SeaweedFS, keys checked): it reads the
WARCs from s3:// itself, its index is a local copy of the stored CDXJ."""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest

from crawler.replay.pywb import PywbServer, start_pywb
from crawler.storage import S3Store, open_store
from fixture_portal import build_site
from tests.seaweedfs import SeaweedFS, s3_config
from tests.test_replay import ARTICLES, CRAWL_ID, Page, fetch, write_crawl


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> Iterator[tuple[S3Store, list[Page]]]:
    """A crawl's WARCs and indexes written locally, then stored in S3 and deleted locally."""
    root = tmp_path_factory.mktemp("archive")
    site = build_site(seed=1)
    plain = [a for a in site.articles if a.kind == "article" and not a.quirk and not a.disallowed]
    pages = write_crawl(root, CRAWL_ID, plain[:ARTICLES], site)
    with SeaweedFS() as seaweed:
        # The restricted identity: reading under its prefix is all pywb needs.
        store = open_store(
            f"s3://{seaweed.bucket}/{seaweed.prefix}/replay", s3_config(seaweed, seaweed.writer)
        )
        for kind in ("warcs", "indexes"):
            for path in sorted((root / kind / CRAWL_ID).iterdir()):
                store.put_file(path, f"{kind}/{CRAWL_ID}/{path.name}")
                path.unlink()
        yield store, pages
        store.close()


@pytest.fixture(scope="module")
def pywb(stored) -> Iterator[PywbServer]:
    store, _pages = stored
    with start_pywb(store) as server:
        yield server


def test_pywb_replays_articles_from_warcs_in_s3(pywb: PywbServer, stored) -> None:
    store, pages = stored
    [collection] = pywb.collections
    assert collection.archive_dir == f"{store.uri}/warcs/{CRAWL_ID}/"
    assert len(list(collection.index_dir.glob("*.cdxj"))) >= 2
    for page in pages[::3]:
        replayed = fetch(pywb.replay_url(CRAWL_ID, page.url, page.timestamp, "mp_"))
        assert replayed.status == 200, (page.url, pywb.log_tail())
        text = html.unescape(replayed.text)
        assert page.title in text, page.url
        assert page.first_paragraph[:80] in text, page.url


def test_the_secret_is_not_on_pywbs_command_line(pywb: PywbServer, stored) -> None:
    store, _pages = stored
    assert store.config.secret_access_key not in " ".join(pywb.process.args)
    assert store.config.secret_access_key not in (pywb.workdir / "config.yaml").read_text()
