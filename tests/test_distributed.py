"""One crawl across several worker processes (settings/distributed.py) against a real Redis
and the fixture portal: items, WARCs and one manifest as one crawl; a worker killed; Redis
lost mid-crawl; incremental runs (docs/distributed.md)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from crawler.distributed.config import DistributedConfig, check_redis_url
from crawler.replay.pywb import start_pywb
from fixture_portal import FixturePortal, build_site, evolve_site, expected_items
from settings import default as default_settings
from tests.archive_truth import assert_crawl_true, assert_state_true, stored_items
from tests.crawl import assert_no_warning_raised, crawl_command
from tests.faults import held_until
from tests.helpers import wait_for
from tests.holding_proxy import HoldingProxy
from tests.redis_server import RedisServer
from tests.seaweedfs import SeaweedFS, s3_settings, stored_objects
from tests.test_crawl import RUN_FIELDS
from tests.test_replay import fetch

PROFILE = "tests.distributed_profile"
N_ARTICLES = 150  # the fixture portal's least


class Workers:
    """``n`` workers of one crawl (``scrapy crawl portal`` each), started at once."""

    def __init__(self, portal_url, workdir: Path, redis_url, n, crawl_id="dist", **settings):
        self.workdir = workdir
        self.crawl_id = crawl_id
        self.logs = [workdir / f"{crawl_id}-worker{i}.log" for i in range(n)]
        self.processes = []
        for log in self.logs:
            command, env = crawl_command(
                portal_url,
                workdir,
                crawl_id=crawl_id,
                profile=PROFILE,
                settings={
                    "REDIS_URL": redis_url,
                    "LOG_FILE": log,
                    "WARC_SPOOL_DIR": workdir / "spool",
                    "DISTRIBUTED_LEASE_TTL": 3,
                    **settings,
                },
            )
            # A session of its own: a kill takes its WARC writer process with it.
            self.processes.append(
                subprocess.Popen(
                    command, cwd=workdir, env=env, stderr=subprocess.PIPE, start_new_session=True
                )
            )

    def log(self, index: int) -> str:
        path = self.logs[index]
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def joined(self, index: int) -> tuple[str, str] | None:
        """(worker id, Redis namespace) once the ``index``-th worker joined the crawl."""
        joined = re.search(r"worker (\S+) joined crawl (\S+)", self.log(index))
        return joined.groups() if joined else None

    def frontier_lost(self, index: int) -> bool:
        """Whether the ``index``-th worker's frontier found Redis away (its shared
        politeness may notice first, or alone)."""
        return re.search(r"Redis at \S+ does not answer", self.log(index)) is not None

    def kill(self, index: int) -> None:
        os.killpg(self.processes[index].pid, signal.SIGKILL)

    def wait(self) -> list[int]:
        codes = []
        for index, process in enumerate(self.processes):
            _out, err = process.communicate(timeout=600)
            sys.stderr.write(err.decode())
            if process.returncode != -signal.SIGKILL:
                assert_no_warning_raised(self.log(index) + err.decode())
            codes.append(process.returncode)
        return codes

    @property
    def archive(self) -> Path:
        return self.workdir / "archive"


def started_together(portal, *args, **settings) -> Workers:
    """``Workers(portal.base_url, *args, **settings)`` with the portal holding every request
    until all of them joined: a short crawl is not over before a slow starter joins it
    (which is then too late to join)."""
    gate = threading.Event()
    portal.inject(lambda _target: True, held_until(gate))
    workers = Workers(portal.base_url, *args, **settings)
    try:
        wait_for(
            lambda: all(map(workers.joined, range(len(workers.processes)))),
            "every worker joined",
            deadline=300,
        )
    finally:
        gate.set()
        portal.clear_faults()
    return workers


def article_paths(site, requests) -> Counter:
    paths = {"/" + article.path for article in site.articles}
    return Counter(path for _method, path, _headers in requests if path in paths)


def assert_ground_truth(items: list[dict], expected: dict) -> None:
    urls = [item["url"] for item in items]
    assert len(urls) == len(set(urls)), "an article was exported twice"
    assert sorted(urls) == sorted(expected)
    for item in items:
        assert {k: v for k, v in item.items() if k not in RUN_FIELDS} == expected[item["url"]]


@pytest.fixture(scope="module")
def redis():
    with RedisServer() as server:
        yield server


def in_flight(redis, workers: Workers, index: int) -> int:
    """How many requests the ``index``-th worker has taken and not finished (0 before it
    joined the crawl)."""
    from redis import Redis

    joined = workers.joined(index)
    if joined is None:
        return 0
    worker, namespace = joined
    with Redis.from_url(redis.url) as client:
        return client.hlen(f"{namespace}:inflight:{worker}")


def spooled_warcs(workers: Workers, index: int) -> list[Path]:
    """The WARC files (open or closed) in the ``index``-th worker's spool."""
    joined = workers.joined(index)
    if joined is None:
        return []
    crawl_spool = workers.workdir / "spool" / "workers" / joined[0] / workers.crawl_id
    found = []
    for path in crawl_spool.glob("*.warc.gz*"):
        try:
            if path.stat().st_size:
                found.append(path)
        except FileNotFoundError:
            pass  # renamed as it closed
    return found


def lasting_redis_keys(redis) -> list[bytes]:
    """The keys in Redis that do not expire."""
    from redis import Redis

    with Redis.from_url(redis.url) as client:
        return [key for key in client.keys("*") if client.pttl(key) < 0]


# -- the profile's settings -------------------------------------------------------------


def test_redis_url_is_checked_with_a_clear_message():
    from crawler.config import ConfigError

    assert check_redis_url("redis://127.0.0.1:6379/0")
    assert check_redis_url("unix:///run/redis.sock")
    for bad, message in (
        ("", "needs the address"),
        ("http://127.0.0.1:6379", "redis://host:port/db"),
        ("redis://127.0.0.1:port/0", "REDIS_URL"),
    ):
        with pytest.raises(ConfigError, match=message):
            check_redis_url(bad)


def test_distributed_settings_are_read_once():
    from scrapy.settings import Settings

    from crawler.config import ConfigError

    settings = Settings()
    settings.setmodule(default_settings)
    settings.set("PORTAL_URL", "https://portal.example/")
    settings.set("CRAWL_ID", "c1")
    config = DistributedConfig.from_settings(settings)
    assert not config.enabled  # the default profile: a single process
    assert config.keys.requests == "archiver:portal.example:c1:requests"
    assert config.keys.lease("w") == "archiver:portal.example:c1:lease:w"
    settings.set("DISTRIBUTED_ENABLED", True)
    with pytest.raises(ConfigError, match="REDIS_URL"):
        DistributedConfig.from_settings(settings)
    settings.set("REDIS_URL", "redis://127.0.0.1:1/0")
    settings.set("DISTRIBUTED_LEASE_TTL", 1)
    with pytest.raises(ConfigError, match="DISTRIBUTED_LEASE_TTL"):
        DistributedConfig.from_settings(settings)


def test_a_missing_redis_url_stops_the_crawl_with_exit_status_3(tmp_path):
    command, env = crawl_command(
        "http://127.0.0.1:9/", tmp_path, profile=PROFILE, settings={"REDIS_URL": ""}
    )
    env.pop("REDIS_URL", None)
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 3, done.stderr[-2000:]
    assert "REDIS_URL: the distributed profile needs" in done.stderr


# -- one crawl, several workers -------------------------------------------------------------


CLASSIC = ("classic", 2, True, True)  # theme, workers, WACZ, an incremental second run


@pytest.fixture(
    scope="module",
    # The WACZ at the crawl's end asked for in one of them (off by default: `scrapy wacz`);
    # the classic crawl is followed by an incremental second run of 2 workers (one crawl
    # less than a first run of its own).
    params=[CLASSIC, ("alt", 3, False, False)],
    ids=["classic-2-wacz", "alt-3"],
)
def crawl(request, redis, tmp_path_factory):
    theme, n, wacz, second_run = request.param
    site = build_site(seed=1, n_articles=N_ARTICLES)
    workdir = tmp_path_factory.mktemp(f"dist-{theme}")
    second = None
    with FixturePortal(site, theme=theme) as portal:
        # An id per crawl: the Redis is the module's, and keeps a finished crawl's name.
        crawl_id = f"dist-{theme}"
        workers = Workers(
            portal.base_url, workdir, redis.url, n, crawl_id=crawl_id, WACZ_ENABLED=wacz
        )
        codes = workers.wait()
        expected = expected_items(site, theme=theme, base_url=portal.base_url)
        requests = list(portal.request_log)
        base_url = portal.base_url
        if second_run:
            evolved = evolve_site(site, new=3, changed=2)
            portal.replace_site(evolved)
            again = started_together(
                portal, workdir, redis.url, 2, crawl_id="second", BROWSER_ENABLED=False
            )
            second = {
                "workers": again,
                "codes": again.wait(),
                "site": evolved,
                "requests": list(portal.request_log)[len(requests) :],
            }
    return {
        "crawl_id": crawl_id,
        "n": n,
        "wacz": wacz,
        "site": site,
        "workers": workers,
        "codes": codes,
        "expected": expected,
        "requests": requests,
        "base_url": base_url,
        "second": second,
    }


def test_workers_make_one_crawl_equal_to_the_ground_truth(crawl, redis):
    workers = crawl["workers"]
    assert crawl["codes"] == [0] * crawl["n"], workers.log(0)[-3000:]
    crawl_id = crawl["crawl_id"]
    assert_ground_truth(stored_items(workers.archive, crawl_id), crawl["expected"])
    manifest = assert_crawl_true(workers.archive, crawl_id)
    # One manifest listing every worker's files, the one items file and the WACZ if asked for.
    assert len(manifest["workers"]) == crawl["n"]
    keys = [entry["key"] for entry in manifest["files"]]
    assert f"items/{crawl_id}.jsonl.gz" in keys
    assert (f"wacz/{crawl_id}.wacz" in keys) == crawl["wacz"]
    warcs = [key for key in keys if key.startswith("warcs/")]
    writers = {worker for worker in manifest["workers"] if any(worker in k for k in warcs)}
    assert len(writers) >= 2, warcs  # the work was shared
    assert manifest["stats"]["items/accepted"] == len(crawl["expected"])
    assert manifest["finish_reason"] == "finished"
    assert_state_true(workers.archive)
    # Nothing left behind: not in the store, the spool or Redis.
    parts = workers.archive / "crawls" / crawl_id / "workers"
    assert not parts.exists() or not any(p.is_file() for p in parts.rglob("*"))
    assert not list((workers.workdir / "spool").rglob("*.warc.gz"))
    assert not [key for key in lasting_redis_keys(redis) if f":{crawl_id}:".encode() in key]


def test_every_url_is_fetched_once_across_workers(crawl):
    fetched = Counter(
        path for _m, path, _h in crawl["requests"] if path.split("?")[0].endswith(".html")
    )
    assert not [path for _m, path, _h in crawl["requests"] if "/amp" in path]
    site, base = crawl["site"], crawl["base_url"]
    # As in a single process (tests/test_crawl.py): the 500 tried 3 times, scripted twice.
    assert fetched.pop(urlsplit(site.server_error_url(base)).path) == 3
    for url in site.scripted_urls(base):
        assert fetched.pop(urlsplit(url).path) == 2
    assert set(fetched.values()) == {1}


def test_pywb_replays_articles_of_every_worker(crawl):
    archive = crawl["workers"].archive
    crawl_id = crawl["crawl_id"]
    items = stored_items(archive, crawl_id)
    by_file = {}
    for item in items:
        by_file.setdefault(item["warc"]["filename"], item)
    assert len(by_file) >= 2
    with start_pywb(archive, crawl_ids=[crawl_id]) as server:
        for item in by_file.values():
            replayed = fetch(server.replay_url(crawl_id, item["fetched_url"], modifier="mp_"))
            assert replayed.status == 200, item["fetched_url"]
            assert crawl["expected"][item["url"]]["title"][:40] in replayed.text


# -- a worker dies, Redis goes away -----------------------------------------------------


def test_a_worker_killed_midway_loses_nothing(redis, tmp_path):
    site = build_site(seed=2, n_articles=N_ARTICLES)
    with FixturePortal(site, theme="classic") as portal:
        workers = Workers(portal.base_url, tmp_path, redis.url, 2, crawl_id="killed")
        # Killed with requests in flight and WARC records in its spool, not before it
        # joined or wrote anything (a slow start under load; see
        # tests/test_distributed_parts.py for a worker that died before writing).
        wait_for(
            lambda: (
                len(portal.request_log) > 120
                and in_flight(redis, workers, 0)
                and spooled_warcs(workers, 0)
            ),
            "the crawl half way, worker 0 fetching and writing",
            deadline=300,
        )
        workers.kill(0)
        codes = workers.wait()
        expected = expected_items(site, theme="classic", base_url=portal.base_url)
    assert codes == [-signal.SIGKILL, 0], workers.log(1)[-3000:]
    assert_ground_truth(stored_items(tmp_path / "archive", "killed"), expected)
    manifest = assert_crawl_true(tmp_path / "archive", "killed")
    stats = manifest["stats"]
    assert stats["distributed/workers_recovered"] == 1
    assert stats["distributed/taken_over"] > 0  # it had requests in flight when it died
    assert manifest["report"]["distributed"]["taken_over"] == stats.get("distributed/taken_over")
    # The killed worker's WARC files are stored and listed; its spool is gone.
    dead = [w for w in manifest["workers"] if w in workers.log(0)]
    assert len(dead) == 1
    assert any(dead[0] in entry["key"] for entry in manifest["files"])
    assert not list((tmp_path / "spool").rglob("*.warc.gz*"))
    assert_state_true(tmp_path / "archive")


class PersistentRedis(RedisServer):
    """A Redis that keeps its data across a restart: every write in its append-only file,
    fsynced before it answers."""

    def command(self) -> list[str]:
        command = super().command()
        at = command.index("--appendonly")
        command[at + 1] = "yes"
        return [*command, "--appendfsync", "always"]


def test_redis_restarted_with_its_data_mid_crawl_the_workers_go_on(tmp_path):
    site = build_site(seed=4, n_articles=N_ARTICLES)
    with PersistentRedis() as redis, FixturePortal(site, theme="classic") as portal:
        workers = Workers(portal.base_url, tmp_path, redis.url, 2)
        wait_for(
            lambda: len(portal.request_log) > 80 and all(map(workers.joined, range(2))),
            "the crawl under way, both workers in it",
            deadline=300,
        )
        redis.stop()
        wait_for(
            lambda: all(workers.frontier_lost(i) for i in range(2)),
            "the workers to notice",
        )
        redis.start()
        codes = workers.wait()
        expected = expected_items(site, theme="classic", base_url=portal.base_url)
    assert codes == [0, 0], workers.log(0)[-3000:]
    for index in range(2):
        assert "Redis answers again: going on" in workers.log(index)
    assert_ground_truth(stored_items(tmp_path / "archive", "dist"), expected)
    assert len(assert_crawl_true(tmp_path / "archive", "dist")["workers"]) == 2


def test_redis_lost_mid_crawl_stops_the_workers_and_a_second_run_finishes(tmp_path):
    site = build_site(seed=3, n_articles=N_ARTICLES)
    with RedisServer() as redis, FixturePortal(site, theme="classic") as portal:
        first = Workers(portal.base_url, tmp_path, redis.url, 2, DISTRIBUTED_REDIS_WAIT=30)
        wait_for(
            lambda: len(portal.request_log) > 80 and all(map(first.joined, range(2))),
            "the crawl under way, both workers in it",
            deadline=300,
        )
        redis.stop()
        wait_for(
            lambda: all(first.frontier_lost(i) for i in range(2)),
            "the workers to notice",
        )
        redis.start()  # empty: Redis without persistence lost the crawl's frontier
        assert first.wait() == [6, 6]
        for index in range(2):
            assert "Redis came back without this crawl's frontier" in first.log(index)
        assert not (tmp_path / "archive" / "crawls" / "dist" / "manifest.json").exists()
        # Everything the first run archived is stored (WARCs, items parts): nothing lost.
        assert not list((tmp_path / "spool").rglob("*.warc.gz*"))
        second = started_together(portal, tmp_path, redis.url, 2)
        assert second.wait() == [0, 0], second.log(0)[-3000:]
        expected = expected_items(site, theme="classic", base_url=portal.base_url)
    assert_ground_truth(stored_items(tmp_path / "archive", "dist"), expected)
    manifest = assert_crawl_true(tmp_path / "archive", "dist")
    assert len(manifest["workers"]) == 4  # both runs' files in the one manifest
    assert manifest["stats"]["items/accepted"] == len(expected)


@pytest.mark.parametrize("crawl", [CLASSIC], indirect=True, ids=["classic-2-wacz"])
def test_an_incremental_second_run_of_two_workers_fetches_only_what_changed(crawl):
    second = crawl["second"]  # made after the classic theme's crawl
    workers, evolved, base = second["workers"], second["site"], crawl["base_url"]
    assert second["codes"] == [0, 0], workers.log(0)[-3000:]
    new, changed = set(evolved.new_urls(base)), set(evolved.changed_urls(base))
    retried = {base + a.path for a in evolved.articles if a.kind != "article"}
    fetched = {base.rstrip("/") + path for path in article_paths(evolved, second["requests"])}
    assert fetched == new | changed | retried
    assert {item["url"] for item in stored_items(workers.archive, "second")} == new | changed
    crawls = json.loads((workers.archive / "state" / "crawls.json").read_text())["crawls"]
    assert [(c["crawl_id"], c["mode"]) for c in crawls] == [
        (crawl["crawl_id"], "full"),
        ("second", "incremental"),
    ]
    assert not (workers.archive / "state" / "lock.json").exists()
    assert_state_true(workers.archive)


# -- the store away at the end ----------------------------------------------------------


def test_a_store_outage_leaves_the_crawl_unfinished_and_the_next_run_finishes_it(redis, tmp_path):
    site = build_site(seed=5, n_articles=N_ARTICLES)
    with SeaweedFS() as seaweed, FixturePortal(site, theme="classic") as portal:
        prefix = f"{seaweed.prefix}/outage"
        store = {
            **s3_settings(seaweed),
            "ARCHIVE_URI": f"s3://{seaweed.bucket}/{prefix}",
            "ARCHIVE_S3_ADDRESSING_STYLE": "path",
        }
        first = Workers(portal.base_url, tmp_path, redis.url, 2, crawl_id="outage", **store)
        wait_for(
            lambda: len(portal.request_log) > 120 and all(map(first.joined, range(2))),
            "the crawl under way, both workers in it",
            deadline=300,
        )
        seaweed.stop()  # the workers crawl on; nothing can be stored at their end
        codes = first.wait()
        seaweed.start()
        # Neither worker claims what the store does not hold: files kept in the spools
        # (exit 4), no manifest, and the finisher gave its place back.
        assert codes == [4, 4], first.log(1)[-3000:]
        assert "crawls/outage/manifest.json" not in stored_objects(seaweed, prefix)
        assert "not finished" in first.log(0) + first.log(1)
        # The next run of the same crawl id stores what the first left and finishes it. One
        # worker: of two, the second to start could find the crawl finished already (the
        # first has nothing to fetch), and not take part.
        second = Workers(portal.base_url, tmp_path, redis.url, 1, crawl_id="outage", **store)
        assert second.wait() == [0], second.log(0)[-3000:]
        expected = expected_items(site, theme="classic", base_url=portal.base_url)
        archive = tmp_path / "stored"
        for key, data in stored_objects(seaweed, prefix).items():
            (archive / key).parent.mkdir(parents=True, exist_ok=True)
            (archive / key).write_bytes(data)
    assert_ground_truth(stored_items(archive, "outage"), expected)
    assert len(assert_crawl_true(archive, "outage")["workers"]) == 3
    assert not list((tmp_path / "spool").rglob("*.warc.gz*"))


@contextlib.contextmanager
def held_at_the_finish(redis, tmp_path, crawl_id: str, held: str):
    """2 workers of ``crawl_id`` crawling a fixture portal and storing into SeaweedFS
    through a HoldingProxy that holds the request starting with ``held`` ("{}" is the
    crawl's key prefix). Yields, once the finisher sent that request: the site, seaweed,
    portal, workers, finisher (its index) and held (the request)."""
    site = build_site(seed=6, n_articles=N_ARTICLES)
    with SeaweedFS() as seaweed, FixturePortal(site, theme="classic") as portal:
        prefix = f"{seaweed.prefix}/{crawl_id}"
        held = held.format(f"/{seaweed.bucket}/{prefix}/crawls/{crawl_id}")
        with HoldingProxy(seaweed.endpoint_url, hold=held.encode()) as proxy:
            store = {
                **s3_settings(seaweed),
                "AWS_ENDPOINT_URL": proxy.url,
                "ARCHIVE_URI": f"s3://{seaweed.bucket}/{prefix}",
                "ARCHIVE_S3_ADDRESSING_STYLE": "path",
            }
            workers = Workers(portal.base_url, tmp_path, redis.url, 2, crawl_id=crawl_id, **store)
            wait_for(proxy.held.is_set, f"the finisher asking {held}", deadline=300)
            finisher = next(i for i in range(2) if "finishes crawl" in workers.log(i))
            yield SimpleNamespace(
                site=site,
                seaweed=seaweed,
                portal=portal,
                workers=workers,
                finisher=finisher,
                held=held,
            )


def copied_archive(seaweed, crawl_id: str, archive: Path) -> Path:
    """What SeaweedFS holds of ``crawl_id``, copied into ``archive`` (a directory)."""
    for key, data in stored_objects(seaweed, f"{seaweed.prefix}/{crawl_id}").items():
        (archive / key).parent.mkdir(parents=True, exist_ok=True)
        (archive / key).write_bytes(data)
    return archive


@pytest.mark.parametrize("held", ["PUT {}/manifest.json ", "DELETE {}/workers/"])
def test_a_finisher_killed_while_finishing_is_replaced_and_the_crawl_finished(
    redis, tmp_path, held
):
    # The other worker waits for the finish; once the finisher's lease is gone it takes its
    # place and finishes the crawl (it used to exit 0 at once, leaving no manifest for ever
    # or, to the next run of the crawl, for 10 minutes). Killed before its manifest was
    # stored, or after it, while deleting the workers' parts.
    crawl_id = "replaced-" + held.split()[0].lower()  # the module's Redis keeps its name
    with held_at_the_finish(redis, tmp_path, crawl_id, held) as run:
        # The finisher has merged the items and committed everything but the manifest.
        workers, finisher = run.workers, run.finisher
        survivor = 1 - finisher
        dead_id, _ = workers.joined(finisher)
        workers.kill(finisher)
        codes = workers.wait()
        archive = copied_archive(run.seaweed, crawl_id, tmp_path / "stored")
        expected = expected_items(run.site, theme="classic", base_url=run.portal.base_url)
    assert codes[survivor] == 0, workers.log(survivor)[-3000:]
    assert codes[finisher] == -signal.SIGKILL
    assert f"worker {dead_id} died finishing crawl" in workers.log(survivor)
    finished_already = f"crawl {crawl_id} was finished by worker {dead_id}"
    assert (finished_already in workers.log(survivor)) == held.startswith("DELETE")
    manifest = assert_crawl_true(archive, crawl_id)  # every file once, the merged items too
    assert len(manifest["workers"]) == 2
    # The dead finisher's manifest stands (it finished), else the replacing worker's.
    replaced = None if held.startswith("DELETE") else dead_id
    assert manifest["stats"].get("distributed/finisher_replaced") == replaced
    assert_ground_truth(stored_items(archive, crawl_id), expected)
    # Its status and last line are the crawl's (it may have read no listing page itself).
    assert f"crawl {crawl_id} finished (finished): {len(expected)} items," in workers.log(survivor)
    assert not list((archive / "crawls" / crawl_id).glob("workers/*"))  # the parts went
    assert not list((tmp_path / "spool").rglob("*.warc.gz*"))
    assert not (tmp_path / "spool" / "workers" / dead_id).exists()  # its spool stored


def test_a_worker_stopped_while_it_waits_for_the_finish_does_not_claim_it(redis, tmp_path):
    # A shutdown signal (a container stopped) stops the reactor in the worker's end, where it
    # waits for the finisher: it exited 0, "finished by another worker", with no manifest
    # stored and none to come if the finisher then failed.
    with held_at_the_finish(redis, tmp_path, "stopped", "PUT {}/manifest.json ") as run:
        waiting = run.workers.processes[1 - run.finisher]
        waiting.send_signal(signal.SIGTERM)
        code = waiting.wait(timeout=60)
        log = run.workers.log(1 - run.finisher)
        run.workers.kill(run.finisher)
        run.workers.wait()
    assert code == 6, log[-3000:]
    assert "its end did not run to its close" in log
    assert "finished by another worker" not in log
    assert "written by another worker" not in log


def test_a_worker_started_while_the_crawl_is_finished_joins_nothing(redis, tmp_path):
    # It came once the finisher had taken its place: it used to join, be left out of the
    # finish (its parts stored after the merge, never listed) or, the crawl's keys gone,
    # seed the finished crawl again under its id.
    with held_at_the_finish(redis, tmp_path, "late", "PUT {}/manifest.json ") as run:
        workers, finisher, seaweed = run.workers, run.finisher, run.seaweed
        fetched = len(run.portal.request_log)
        (tmp_path / "late").mkdir()
        late = Workers(
            run.portal.base_url,
            tmp_path / "late",
            redis.url,
            1,
            crawl_id="late",
            **s3_settings(seaweed),
            ARCHIVE_URI=f"s3://{seaweed.bucket}/{seaweed.prefix}/late",
            WARC_SPOOL_DIR=tmp_path / "spool",  # beside the others'
        )
        [code] = late.wait()
        log = late.log(0)
        assert len(run.portal.request_log) == fetched
        workers.kill(finisher)
        codes = workers.wait()
        archive = copied_archive(seaweed, "late", tmp_path / "stored")
    assert code == 3, log[-3000:]
    refused = re.search(r"worker (\S+) is too late to join it", log)
    assert refused is not None, log[-3000:]
    assert "downloader/request_count" not in log
    assert not [path for path in archive.rglob("*") if refused[1] in str(path)]
    assert not (tmp_path / "spool" / "workers" / refused[1]).exists()
    assert codes[1 - finisher] == 0, workers.log(1 - finisher)[-3000:]
    manifest = assert_crawl_true(archive, "late")
    assert len(manifest["workers"]) == 2 and refused[1] not in manifest["workers"]
    assert not [key for key in lasting_redis_keys(redis) if b":late:" in key]


def test_a_worker_archiving_elsewhere_fetches_nothing_and_exits_3(redis, tmp_path):
    from redis import Redis

    from crawler.distributed.config import RedisKeys

    site = build_site(seed=7, n_articles=N_ARTICLES)
    with FixturePortal(site, theme="classic") as portal:
        keys = RedisKeys(f"archiver:{urlsplit(portal.base_url).hostname}:elsewhere")
        with Redis.from_url(redis.url) as client:
            client.set(keys.archive, "s3://archive/other")  # its first worker's archive
            workers = Workers(portal.base_url, tmp_path, redis.url, 1, crawl_id="elsewhere")
            [code] = workers.wait()
            assert client.get(keys.archive) == b"s3://archive/other"
            assert not client.exists(keys.workers)
            client.delete(keys.archive)
        requests = list(portal.request_log)
    log = workers.log(0)
    assert code == 3, log[-3000:]
    assert "is archived into s3://archive/other, not into file://" in log
    assert requests == []
    assert not [path for path in (tmp_path / "archive").rglob("*") if path.is_file()]
    assert not list((tmp_path / "spool").rglob("*.jsonl.gz"))
