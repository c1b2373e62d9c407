"""The parts of a distributed crawl that need no crawl: how requests cross Redis,
how the finishing worker merges the workers' stats, frontier notes and file lists."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from pathlib import Path

import scrapy
from redis import Redis
from scrapy.crawler import Crawler
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.request import request_from_dict

from crawler.distributed.config import RedisKeys
from crawler.distributed.coordinator import Coordinator
from crawler.distributed.finishing import merge_stats
from crawler.distributed.scheduler import RequestCodec
from crawler.incremental.frontier import RunProgress, Walker
from crawler.incremental.parts import WalkNotes, merge_progress
from crawler.layout import worker_part_key
from crawler.publishing.manifest import with_files
from crawler.publishing.spool import CrawlSpool
from crawler.publishing.spool_lock import lock_spool, spool_in_use
from crawler.storage.base import StoredObject
from tests.redis_server import RedisServer


class Spider(scrapy.Spider):
    name = "portal"

    def parse_article(self, response, section=None):
        pass

    def on_error(self, failure):
        pass


def test_a_request_crosses_redis_with_its_callbacks_by_name_and_without_what_cannot_pickle():
    spider = Spider()
    request = scrapy.Request(
        "https://portal.example/a.html",
        callback=spider.parse_article,
        errback=spider.on_error,
        cb_kwargs={"section": {"name": "Tin", "slug": "tin"}},
        meta={"via": "https://portal.example/", "depth": 3, "handle": threading.Lock()},
        priority=10,
    )
    data = RequestCodec.dumps(request.to_dict(spider=spider))
    again = request_from_dict(RequestCodec.loads(data), spider=spider)
    assert again.callback == spider.parse_article and again.errback == spider.on_error
    assert again.cb_kwargs == {"section": {"name": "Tin", "slug": "tin"}}
    assert again.meta == {"via": "https://portal.example/", "depth": 3}  # the lock left out
    assert again.priority == 10 and again.url == request.url


def test_walks_read_by_several_workers_are_merged():
    walk = "https://portal.example/chuyen-muc/tin/"
    seeder, other = RunProgress(), RunProgress()
    walker = seeder.walker(walk, {"slug": "tin"}, None)
    walker.position = (walk, 1)
    notes = WalkNotes()
    notes.note(walker.walker_id, 0, (walk + "page/3/", 3))
    notes.note(walker.walker_id, 0, (walk + "page/2/", 2))  # read later, an earlier page
    notes.note(walker.walker_id, 1, "end")
    other.ask("https://portal.example/b.html", "article", walk, None)
    other.walkers["x#1"] = Walker("x", None, ("x", 4), None)
    merge_progress(seeder, other)
    merged = WalkNotes()
    merged.merge(notes)
    merged.apply(seeder)
    assert walker.position == (walk + "page/3/", 3) and walker.outcome == "end"
    assert "https://portal.example/b.html" in seeder.asked and "x#1" in seeder.walkers


def test_stats_are_summed_across_workers_but_maxima():
    own = {"items/accepted": 3, "elapsed_time_seconds": 10.0, "finish_reason": "finished"}
    records = [
        {"worker": "me", "stats": {"items/accepted": 3}},
        {"worker": "w2", "stats": {"items/accepted": 4, "elapsed_time_seconds": 12.5, "x": 1}},
        {"worker": "w3", "stats": {"items/accepted": 1, "finish_reason": "shutdown"}},
    ]
    merged = merge_stats(own, records, "me")
    assert merged["items/accepted"] == 8
    assert merged["elapsed_time_seconds"] == 12.5
    assert merged["x"] == 1 and merged["finish_reason"] == "finished"


def test_worker_parts_are_never_listed_in_a_manifest(tmp_path: Path):
    spool = CrawlSpool(tmp_path, "c1", worker="w1")
    assert spool.key_of(spool.items_path) == worker_part_key("c1", "w1", "items.jsonl.gz")
    assert spool.key_of(spool.pages_path) == worker_part_key("c1", "w1", "pages.jsonl")
    assert CrawlSpool(tmp_path, "c1").key_of(spool.items_path) == "items/c1.jsonl.gz"
    part = {"key": worker_part_key("c1", "w2", "items.jsonl.gz"), "size": 1, "sha256": "a"}
    manifest = {"files": [part, {"key": "warcs/c1/a.warc.gz", "size": 2, "sha256": "b"}]}
    stored = [
        StoredObject(worker_part_key("c1", "w1", "pages.jsonl"), 3, "c"),
        StoredObject("items/c1.jsonl.gz", 4, "d"),
    ]
    keys = [entry["key"] for entry in with_files(manifest, stored)["files"]]
    assert keys == ["items/c1.jsonl.gz", "warcs/c1/a.warc.gz"]


def test_sync_of_a_dead_workers_spool_leaves_its_record_for_the_finisher(tmp_path: Path):
    from crawler.publishing.storing import CrawlStorage
    from crawler.storage import FileStore

    spool_dir = tmp_path / "spool" / "workers" / "w1"
    storage = CrawlStorage(FileStore(tmp_path / "archive"), spool_dir, "http://portal/")
    assert storage.worker == "w1"
    items = storage.spool("c1").path / "items.jsonl.gz"
    items.parent.mkdir(parents=True)
    items.write_bytes(b"not really gzip")
    assert storage.sync_crawl("c1") == []
    record = json.loads(
        (tmp_path / "archive" / worker_part_key("c1", "w1", "record.json")).read_text()
    )
    assert record["recovered"] and [f["key"] for f in record["files"]] == [
        worker_part_key("c1", "w1", "items.jsonl.gz")
    ]
    # No manifest: the crawl's finishing worker writes the one manifest.
    assert not (tmp_path / "archive" / "crawls" / "c1" / "manifest.json").exists()
    assert not (tmp_path / "archive" / "items" / "c1.jsonl.gz").exists()


def test_a_dead_worker_that_wrote_nothing_is_recorded_and_counted_once(tmp_path: Path):
    from crawler.distributed.finishing import read_records, recover_dead
    from crawler.publishing.storing import CrawlStorage
    from crawler.storage import FileStore

    # It joined and took requests, then died before its first record: a lock file only.
    dead_spool = tmp_path / "spool" / "workers" / "w0"
    lock = lock_spool(dead_spool)
    os.close(lock)
    store = FileStore(tmp_path / "archive")
    counted = MemoryStatsCollector(Crawler(Spider))
    storage = CrawlStorage(
        store, tmp_path / "spool" / "workers" / "w1", "http://portal/", counted.inc_value
    )
    dead = {"worker": "w0", "host": socket.gethostname(), "spool": str(dead_spool)}
    assert recover_dead(storage, "c1", dead)
    assert not dead_spool.exists()
    [record] = read_records(storage, "c1")
    assert record == {
        "worker": "w0",
        "host": socket.gethostname(),
        "files": [],
        "stats": {},
        "recovered": True,
    }
    assert counted.get_value("distributed/workers_recovered") == 1
    # Dealt with again (a finisher replaced): neither recorded nor counted twice.
    assert recover_dead(storage, "c1", dead)
    assert len(read_records(storage, "c1")) == 1
    assert counted.get_value("distributed/workers_recovered") == 1


def test_a_spool_in_use_is_seen_without_taking_its_lock(tmp_path: Path):
    spool = tmp_path / "workers" / "w1"
    assert not spool_in_use(spool)  # nothing there: nothing made either
    assert not spool.exists()
    fd = lock_spool(spool)
    assert spool_in_use(spool)
    os.close(fd)
    assert not spool_in_use(spool)


ARCHIVE = "s3://archive/crawls"


def redis_side(url: str, me: str) -> Coordinator:
    """A coordinator's Redis side only, no crawl (its stats in a plain collector)."""
    coordinator = Coordinator.__new__(Coordinator)
    coordinator.server = Redis.from_url(url)
    coordinator.keys, coordinator.me = RedisKeys("archiver:portal:c1"), me
    coordinator._lapsed, coordinator.ttl_ms = set(), 3000
    coordinator.finishing, coordinator.replaced = False, None
    coordinator.crawler = Crawler(scrapy.Spider, {"STATS_CLASS": MemoryStatsCollector})
    coordinator.crawler.stats = MemoryStatsCollector(coordinator.crawler)
    return coordinator


@contextlib.contextmanager
def redis_sides(*names: str):
    """The Redis sides (``redis_side``) of coordinators named ``names``, on a Redis of their
    own; and who each is (this host, a spool never in use)."""
    with RedisServer() as redis:
        sides = [redis_side(redis.url, name) for name in names]
        who = {"host": socket.gethostname(), "pid": 1, "spool": "/nonexistent/spool"}
        try:
            yield *sides, who
        finally:
            for side in sides:
                side.server.close()


def test_a_worker_whose_lease_lapsed_but_runs_here_is_waited_for(tmp_path: Path):
    # The finisher must not finish without a live worker's record (its articles would be
    # missing from the items and the incremental state): a worker starved of CPU can miss
    # its lease renewals while its process still holds its spool.

    with RedisServer() as redis:
        coordinator = redis_side(redis.url, "a")
        spool = tmp_path / "workers" / "b"
        for worker, where in (("a", tmp_path / "workers" / "a"), ("b", spool)):
            who = {"host": socket.gethostname(), "pid": 1, "spool": str(where)}
            coordinator.server.hset(coordinator.keys.workers, worker, json.dumps(who))
        coordinator.server.sadd(coordinator.keys.done, "a")  # b: no lease, not done
        fd = lock_spool(spool)
        assert coordinator.role() == ("wait", [])
        os.close(fd)  # b's process ends
        role, dead = coordinator.role()
        assert role == "finisher" and [d["worker"] for d in dead] == ["b"]
        coordinator.server.close()


def test_a_finisher_that_died_is_replaced_by_one_survivor_only(tmp_path: Path):
    # Every worker is done; f took the finisher's place and died (no lease, its spool free).
    with RedisServer() as redis:
        a, b = redis_side(redis.url, "a"), redis_side(redis.url, "b")
        for worker in ("a", "b", "f"):
            who = {"host": socket.gethostname(), "pid": 1, "spool": str(tmp_path / worker)}
            a.server.hset(a.keys.workers, worker, json.dumps(who))
            a.server.sadd(a.keys.done, worker)
        a.server.set(a.keys.finisher, "f")
        a.server.set(a.keys.lease("f"), "1")
        assert a.role() == ("wait", []) == b.role()  # f's lease lives: it is finishing
        a.server.delete(a.keys.lease("f"))
        for live in ("a", "b"):
            a.server.set(a.keys.lease(live), "1")
        role, dead = a.role()
        assert role == "finisher" and [d["worker"] for d in dead] == ["f"]
        assert (
            a.replaced == "f" and a.crawler.stats.get_value("distributed/finisher_replaced") == "f"
        )
        assert b.role() == ("wait", [])  # a lives and finishes: b waits for it
        a.server.delete(a.keys.lease("a"))  # a dies too
        assert b.role()[0] == "finisher" and b.replaced == "a"
        a.forget_crawl()  # the crawl finished: its keys gone
        assert b.role() == ("member", [])
        for coordinator in (a, b):
            coordinator.server.close()


def test_a_worker_is_too_late_to_join_once_the_crawl_has_a_finisher():
    # Joined then, it would be left out of the crawl (its files unlisted) or, once the
    # crawl's keys are gone, seed the finished crawl again under its id.
    with redis_sides("a", "late") as (a, late, who):
        assert a.join(who, ARCHIVE) is None
        a.server.sadd(a.keys.done, "a")
        assert a.role() == ("finisher", [])  # a lives (its lease), finishing
        assert late.join(who, ARCHIVE) == ("finisher", "a")
        assert a.server.hkeys(a.keys.workers) == [b"a"]
        assert not a.server.exists(a.keys.lease("late"))
        a.forget_crawl()  # finished: the keys go, the finisher's name stays a while
        assert late.join(who, ARCHIVE) == ("finisher", "a")
        assert a.server.keys("*") == [a.keys.finisher.encode()]
        assert a.server.pttl(a.keys.finisher) > 60_000


def test_a_finisher_that_died_keeps_no_worker_out():
    # Every worker ended, the finisher died finishing: a worker of the next run of the
    # crawl joins, and takes the dead finisher's place.
    with redis_sides("f", "b", "late") as (f, b, late, who):
        for worker in (f, b):
            worker.join(who, ARCHIVE)
            f.server.sadd(f.keys.done, worker.me)
        assert f.role() == ("finisher", [])
        f.server.delete(f.keys.lease("f"), f.keys.lease("b"))  # every worker gone
        assert late.join(who, ARCHIVE) is None
        late.server.sadd(late.keys.done, "late")
        role, dead = late.role()
        assert role == "finisher" and late.replaced == "f"
        assert [d["worker"] for d in dead] == ["f"]  # (b is done: its record stored)


def test_a_worker_that_joins_as_the_last_one_takes_the_finishers_place_is_waited_for():
    with redis_sides("a", "late") as (a, late, who):
        a.join(who, ARCHIVE)
        a.server.sadd(a.keys.done, "a")
        read = a.server.hgetall

        def late_joins_after_the_read(name):
            workers = read(name)
            assert late.join(who, ARCHIVE) is None
            return workers

        # The late worker joins between a's reading of the workers and its taking the
        # finisher's place: an interleaving no real timing gives on demand.
        a.server.hgetall = late_joins_after_the_read
        assert a.role() == ("wait", [])
        assert not a.server.exists(a.keys.finisher) and not a.finishing
        a.server.hgetall = read
        assert a.role() == ("wait", [])  # the late worker lives and is not done
        a.server.sadd(a.keys.done, "late")
        assert a.role() == ("finisher", [])


def test_a_worker_archiving_elsewhere_does_not_join_the_crawl():
    # The finisher merges the records in its own archive only: a worker storing into
    # another (a typo in its ARCHIVE_URI) would take articles from the crawl unseen.
    with redis_sides("a", "elsewhere", "b") as (a, elsewhere, b, who):
        assert a.join(who, ARCHIVE) is None
        assert elsewhere.join(who, "s3://archive/crawl") == ("archive", ARCHIVE)
        assert b.join(who, ARCHIVE) is None
        assert sorted(a.server.hkeys(a.keys.workers)) == [b"a", b"b"]
