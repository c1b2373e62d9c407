"""What `scrapy crawl` tells a scheduler: the exit statuses beyond Scrapy's own.

0 is asserted of every whole crawl (tests/conftest.py); 3 and 4, the store's, in
test_storage_crawl.py and test_faults_store_hang.py, 3 for bad configuration in
test_faults_config.py; 5, an overlapping run, in test_incremental.py, test_faults_config.py
(a shared spool) and test_faults_lock.py; 6, a crawl stopped when its WARC writer died, in
test_archive_writer.py, or when it lost its state lock, in test_faults_lock.py.
"""

from __future__ import annotations

from fixture_portal import FixturePortal, build_site
from tests.crawl import run_crawl


def test_a_full_crawl_that_finds_no_article_exits_7(tmp_path):
    with FixturePortal(build_site(seed=1), theme="classic") as portal:
        # A wrong portal address: its home page is a 404.
        result = run_crawl(
            portal.base_url + "khong-co-trang-nay/", tmp_path, settings={"BROWSER_ENABLED": False}
        )
    assert result.returncode == 7, result.log[-3000:]
    assert result.stats["finish_reason"] == "finished"
    assert not result.stats.get("items/accepted")


def test_the_crawl_leaves_its_start_up_heap_out_of_garbage_collections():
    import gc

    from crawler.commands.crawl import freeze_start_up_heap

    gc.unfreeze()
    try:
        freeze_start_up_heap()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
