"""Politeness per portal, shared through Redis (crawler/politeness/shared.py, pace.py): the
settings, the Redis side against a real ``redis-server`` (two workers seen as two clients),
and three worker processes crawling the fixture portal with one Redis, whose requests the
portal sees at no more than one process's pace (tests/test_faults_politeness.py has the
single-process behaviour)."""

from __future__ import annotations

import subprocess
import time

import pytest
from redis import asyncio as redis_asyncio
from scrapy.settings import Settings

from crawler.addon import SCRAPY_AUTOTHROTTLE, ArchiverAddon
from crawler.config import ConfigError
from crawler.politeness.config import SharedPolitenessConfig
from crawler.politeness.pace import SharedPace
from fixture_portal import FixturePortal, build_site
from tests import faults
from tests.crawl import CrawlResult, assert_no_warning_raised, crawl_command
from tests.helpers import run_in_own_loop as run
from tests.helpers import wait_for
from tests.redis_server import RedisServer


def settings(**overrides) -> Settings:
    values = Settings()
    values.setmodule("settings.default", priority="project")
    values.update({"POLITENESS_REDIS_URL": "redis://127.0.0.1:6379/0", **overrides})
    return values


# -- settings -------------------------------------------------------------------------------


def test_shared_politeness_is_off_by_default_and_reads_the_profile():
    assert not SharedPolitenessConfig.wanted(settings(POLITENESS_REDIS_URL=""))
    config = SharedPolitenessConfig.from_settings(settings())
    # The default profile's pace, for all workers together.
    assert config.concurrency == 2
    assert config.min_delay_ms == 1000
    assert config.autothrottle and config.autothrottle_start_ms == 2000
    assert config.autothrottle_max_ms == 30_000
    assert config.jitter == 0.5
    assert config.lease_ttl > 60  # DOWNLOAD_TIMEOUT


def test_a_distributed_crawl_shares_the_politeness_in_its_redis_unless_told_another():
    distributed = Settings()
    distributed.setmodule("settings.distributed", priority="project")
    distributed.set("REDIS_URL", "redis://frontier:6379/0")
    assert SharedPolitenessConfig.from_settings(distributed).redis_url == "redis://frontier:6379/0"
    distributed.set("POLITENESS_REDIS_URL", "redis://pace:6379/1")
    assert SharedPolitenessConfig.from_settings(distributed).redis_url == "redis://pace:6379/1"
    # A REDIS_URL alone does not make a single crawl share anything.
    assert not SharedPolitenessConfig.wanted(
        settings(POLITENESS_REDIS_URL="", REDIS_URL="redis://frontier:6379/0")
    )


def test_the_addon_turns_scrapys_autothrottle_off_when_the_pace_is_shared():
    # Its delay is then computed in Redis from every worker's latencies.
    for url, autothrottle in (("", "on"), ("redis://127.0.0.1:6379/0", None)):
        values = settings(POLITENESS_REDIS_URL=url)
        ArchiverAddon().update_settings(values)
        enabled = values["EXTENSIONS"].copy_to_dict().get(SCRAPY_AUTOTHROTTLE, "on")
        assert enabled == autothrottle, url


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"POLITENESS_REDIS_URL": "http://redis:6379"}, "POLITENESS_REDIS_URL"),
        ({"POLITENESS_REDIS_PREFIX": " "}, "POLITENESS_REDIS_PREFIX"),
        ({"POLITENESS_LEASE_TTL": 30}, "POLITENESS_LEASE_TTL: more than DOWNLOAD_TIMEOUT"),
        ({"POLITENESS_POLL_INTERVAL": 0}, "POLITENESS_POLL_INTERVAL"),
        ({"POLITENESS_REDIS_RETRY": "soon"}, "POLITENESS_REDIS_RETRY"),
        ({"POLITENESS_STATE_TTL": 1}, "POLITENESS_STATE_TTL"),
        ({"CONCURRENT_REQUESTS_PER_DOMAIN": 0}, "CONCURRENT_REQUESTS_PER_DOMAIN"),
        ({"DOWNLOAD_DELAY": -1}, "DOWNLOAD_DELAY"),
        ({"DOWNLOAD_DELAY_JITTER": 2}, "DOWNLOAD_DELAY_JITTER"),
        ({"AUTOTHROTTLE_TARGET_CONCURRENCY": 0}, "AUTOTHROTTLE_TARGET_CONCURRENCY"),
    ],
)
def test_nonsense_is_rejected_naming_the_setting(overrides, message):
    with pytest.raises(ConfigError, match=message):
        SharedPolitenessConfig.from_settings(settings(**overrides))


# -- the Redis side: two workers, one site ---------------------------------------------------


def pace_config(url: str, **overrides) -> SharedPolitenessConfig:
    values = {
        "redis_url": url,
        "key_prefix": "test-politeness",
        "concurrency": 2,
        "min_delay_ms": 200,
        "jitter": 0.0,
        "autothrottle": False,
        "autothrottle_start_ms": 200,
        "autothrottle_max_ms": 10_000,
        "autothrottle_target": 1.0,
        "lease_ttl": 60.0,
        "poll_interval": 0.05,
        "redis_retry": 0.1,
        "state_ttl": 600.0,
    }
    return SharedPolitenessConfig(**{**values, **overrides})


def two_workers(url: str, **overrides) -> tuple[SharedPace, SharedPace]:
    config = pace_config(url, **overrides)
    return tuple(
        SharedPace(redis_asyncio.Redis.from_url(url), config, worker)
        for worker in ("worker-a", "worker-b")
    )


async def close(*paces: SharedPace) -> None:
    for pace in paces:
        await pace.client.aclose()


@pytest.fixture(scope="module")
def redis():
    with RedisServer() as server:
        yield server


def test_turns_of_all_workers_are_one_delay_apart_and_leases_bound_concurrency(redis):
    async def scenario():
        a, b = two_workers(redis.url, key_prefix="turns")
        first = await a.take("portal", "a1")
        second = await b.take("portal", "b1")
        third = await a.take("portal", "a2")
        await b.give_back("portal", "b1")
        fourth = await a.take("portal", "a2")
        await close(a, b)
        return first, second, third, fourth

    first, second, third, fourth = run(scenario())
    # One delay after the other worker's turn, on Redis's clock (the calls take milliseconds).
    assert first.wait == 0.0 and first.delay == 0.2
    assert 0.1 <= second.wait <= 0.2
    # Both slots of the site are taken: no turn, ask again later.
    assert third.wait is None and third.retry_in > 0
    # A slot given back: the next turn, one more delay on.
    assert 0.2 <= fourth.wait <= 0.4


def test_a_lease_given_back_with_the_next_ask_frees_its_slot_first(redis):
    async def scenario():
        a, b = two_workers(redis.url, key_prefix="releases", min_delay_ms=0)
        taken = [await a.take("portal", "a1"), await a.take("portal", "a2")]
        full = await a.take("portal", "a3")
        # a1 done: given back in the same call as the next ask (one round trip, not two).
        again = await a.take("portal", "a3", ["a1"])
        other = await b.take("portal", "b1")
        leases = await a.client.zrange(a.keys("portal")["leases"], 0, -1)
        await a.give_back("portal", "a2", "a3")
        emptied = await a.client.zcard(a.keys("portal")["leases"])
        await close(a, b)
        return taken, full, again, other, leases, emptied

    taken, full, again, other, leases, emptied = run(scenario())
    assert all(turn.wait == 0.0 for turn in taken)
    assert full.wait is None  # both slots taken
    assert again.wait == 0.0  # a1's slot, freed before the ask
    assert other.wait is None  # still two at once, whoever asks
    assert sorted(leases) == [b"a2", b"a3"]
    assert emptied == 0


def test_a_dead_workers_slots_come_back_when_their_leases_expire(redis):
    async def take_all():
        a, b = two_workers(redis.url, key_prefix="leases", lease_ttl=1.0, min_delay_ms=0)
        # Worker a takes both slots and dies without giving them back.
        taken = [await a.take("portal", "a1"), await a.take("portal", "a2")]
        refused = await b.take("portal", "b1")
        await close(a, b)
        return taken, refused

    taken, refused = run(take_all())
    assert all(turn.wait is not None for turn in taken)
    assert refused.wait is None and 0 < refused.retry_in <= 1.0

    def b_gets_a_turn() -> bool:
        async def ask():
            (_, b) = two_workers(redis.url, key_prefix="leases", lease_ttl=1.0, min_delay_ms=0)
            turn = await b.take("portal", "b1")
            await close(b)
            return turn.wait is not None

        return run(ask())

    wait_for(b_gets_a_turn, "the dead worker's leases to expire", deadline=10)


def test_autothrottle_delay_is_moved_by_every_workers_latencies(redis):
    async def scenario():
        a, b = two_workers(redis.url, key_prefix="throttle", autothrottle=True)
        before = await b.take("portal", "b1")
        await b.give_back("portal", "b1")
        # Worker a saw a slow answer (3 s): Scrapy's AutoThrottle steps to the latency.
        stepped = await a.throttle("portal", 3.0, 200)
        # An error page answered fast does not lower it (AutoThrottle's rule).
        kept = await b.throttle("portal", 0.01, 500)
        after = await b.take("portal", "b2")
        lowered = await b.throttle("portal", 0.01, 200)
        await close(a, b)
        return before, stepped, kept, after, lowered

    before, stepped, kept, after, lowered = run(scenario())
    assert before.delay == 0.2  # the start delay
    assert stepped == 3.0 and kept == 3.0
    assert after.delay == 3.0  # worker b paces by what worker a saw
    assert lowered == (3.0 + 0.01) / 2  # halfway to the latency, as AutoThrottle does


def test_a_site_slowed_down_by_one_worker_is_slowed_for_all(redis):
    async def scenario():
        a, b = two_workers(redis.url, key_prefix="backoff")
        await a.back_off("portal", 5.0, slowed=True)
        # Nothing goes to the site for 5 s from the 429, whoever sends it.
        slowed = await b.take("portal", "b1")
        await b.give_back("portal", "b1")
        await a.back_off("portal", 0.0, slowed=False)
        relaxed = await b.take("portal", "b2")
        await close(a, b)
        return slowed, relaxed

    slowed, relaxed = run(scenario())
    assert 4.5 <= slowed.wait <= 5.0 and slowed.delay == 5.0
    assert relaxed.delay == 0.2


# -- three worker processes, one portal --------------------------------------------------------

# The default profile on a shorter scale: the same rules, a delay of 0.2 s.
DELAY = 0.2
WORKER_SETTINGS = {
    "DOWNLOAD_DELAY": DELAY,
    "AUTOTHROTTLE_START_DELAY": DELAY,
    "PORTAL_MAX_LISTING_PAGES": 3,
    "PORTAL_FETCH_IMAGES": False,
    "PORTAL_FOLLOW_RELATED": False,
    "BROWSER_ENABLED": False,
    "PROGRESS_INTERVAL": 0,
}
WORKERS = 3
# Each answer takes this long, so that requests overlap when nothing holds them apart.
SERVER_LATENCY = 0.15
WINDOW = 2.0


def most_in_window(arrivals: list[float], window: float) -> int:
    """The most requests that arrived within any ``window`` seconds."""
    arrivals = sorted(arrivals)
    most, start = 0, 0
    for end, arrived in enumerate(arrivals):
        while arrived - arrivals[start] > window:
            start += 1
        most = max(most, end - start + 1)
    return most


def most_at_once(spans: list[tuple[float, float]]) -> int:
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    most = current = 0
    for _, step in events:
        current += step
        most = max(most, current)
    return most


def one_process_bounds(profile: Settings) -> tuple[int, int]:
    """What one process of ``profile`` can send at most: requests in ``WINDOW`` seconds (one
    per shortest jittered delay, one more at the window's edge and one for the scheduling of
    a send a little late) and requests at once."""
    shortest = profile.getfloat("DOWNLOAD_DELAY") * (1 - profile.getfloat("DOWNLOAD_DELAY_JITTER"))
    return int(WINDOW / shortest) + 2, profile.getint("CONCURRENT_REQUESTS_PER_DOMAIN")


def test_three_workers_of_one_crawl_keep_the_portal_within_one_process_pace(tmp_path, redis):
    site = build_site(seed=1)
    profile = Settings()
    profile.setmodule("settings.distributed")
    profile.update(WORKER_SETTINGS)
    rate_bound, concurrency_bound = one_process_bounds(profile)
    assert (rate_bound, concurrency_bound) == (22, 2)
    with FixturePortal(site) as portal:
        portal.inject(lambda target: True, slow_answer(SERVER_LATENCY))
        section = portal.base_url + site.sections[0].path.lstrip("/")
        workers = []
        for number in range(WORKERS):
            # The distributed profile as a user runs it: one crawl id, archive root and Redis.
            command, env = crawl_command(
                portal.base_url,
                tmp_path,
                crawl_id="one-crawl",
                profile="settings.distributed",
                settings={
                    **WORKER_SETTINGS,
                    "PORTAL_SECTIONS": section,
                    "PORTAL_MAX_LISTING_PAGES": 6,
                    "PORTAL_FETCH_IMAGES": True,  # more requests: a crawl of some seconds
                    "REDIS_URL": redis.url,
                    "POLITENESS_REDIS_PREFIX": f"test-{tmp_path.name}",
                    "LOG_FILE": tmp_path / f"worker-{number}.log",
                },
            )
            workers.append(subprocess.Popen(command, cwd=tmp_path, env=env))
        codes = [process.wait(timeout=600) for process in workers]
        spans = list(portal.request_spans)
    for number in range(WORKERS):
        log = (tmp_path / f"worker-{number}.log").read_text(encoding="utf-8")
        assert_no_warning_raised(log)
        assert "politeness shared through Redis" in log
    assert codes == [0] * WORKERS
    result = CrawlResult(0, tmp_path / "archive", "one-crawl", "")
    assert result.manifest["report"]["distributed"]["workers"] == WORKERS
    # The section's articles, each fetched once by one of the workers.
    assert len(result.items) == len({item["url"] for item in result.items}) >= 30
    assert len(spans) >= 60
    arrivals = sorted(start for start, _ in spans)
    mean_rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    print(
        f"{len(spans)} requests, {mean_rate:.1f}/s, {most_in_window(arrivals, WINDOW)} in "
        f"{WINDOW} s at most, {most_at_once(spans)} at once at most"
    )
    # Never more than one process could send (jitter at its worst), nor more at once...
    assert most_in_window(arrivals, WINDOW) <= rate_bound
    assert most_at_once(spans) <= concurrency_bound
    # ...and on average one process's pace: one request per delay (the jitter's mean is 0;
    # the slack is many times the spread of the mean of 60 jittered delays).
    assert mean_rate <= 1.25 / DELAY


def slow_answer(seconds: float):
    """The portal's own answer, ``seconds`` late (a slow server, so that requests overlap
    unless the crawl holds them apart)."""

    def fault(handler) -> None:
        time.sleep(seconds)
        handler.server.portal.serve_normally(handler)

    return fault


def start_workers(portal, site, tmp_path, count: int, redis_url: str, **settings):
    """``count`` crawls of the portal's first section at once: independent crawls (own crawl
    id and archive root) that share the politeness Redis. [(workdir, process)]"""
    section = portal.base_url + site.sections[0].path.lstrip("/")
    workers = []
    for number in range(count):
        workdir = tmp_path / f"worker-{number}"
        workdir.mkdir()
        command, env = crawl_command(
            portal.base_url,
            workdir,
            crawl_id=f"worker-{number}",
            profile="settings.default",
            settings={
                **WORKER_SETTINGS,
                "PORTAL_SECTIONS": section,
                "POLITENESS_REDIS_URL": redis_url,
                "POLITENESS_REDIS_PREFIX": f"test-{tmp_path.name}",
                **settings,
            },
        )
        workers.append((workdir, subprocess.Popen(command, cwd=workdir, env=env)))
    return workers


def finish(workers) -> list[CrawlResult]:
    """Wait for the workers; their results, each checked for a clean end."""
    results = []
    for number, (workdir, process) in enumerate(workers):
        returncode = process.wait(timeout=600)
        crawl_id = f"worker-{number}"
        log = (workdir / f"{crawl_id}.log").read_text(encoding="utf-8")
        assert_no_warning_raised(log)
        assert returncode == 0, log[-3000:]
        assert "politeness shared through Redis" in log
        results.append(CrawlResult(returncode, workdir / "archive", crawl_id, log))
    return results


def run_workers(portal, site, tmp_path, count: int, redis_url: str, **settings):
    return finish(start_workers(portal, site, tmp_path, count, redis_url, **settings))


def test_retry_after_met_by_one_worker_holds_every_worker(tmp_path, redis):
    site = build_site(seed=1)
    path = f"/{site.listing(site.sections[0].slug)[0].slug}.html"
    arrivals = []
    with FixturePortal(site) as portal:
        portal.inject(path, faults.timed(arrivals, faults.first(1, faults.too_many_requests("3"))))
        results = run_workers(portal, site, tmp_path, 2, redis.url, PORTAL_MAX_LISTING_PAGES=2)
        spans = list(portal.request_spans)
    limited = arrivals[0][0]
    # Nothing reached the portal for the 3 s it asked for, from either worker; requests that
    # had their turn already (one delay, 0.2 s at most 0.3 s with jitter) excepted.
    during = [start for start, _ in spans if limited + 0.5 <= start < limited + 3.0]
    assert during == [], f"{len(during)} requests while the portal asked for a pause"
    after = [start for start, _ in spans if start >= limited + 3.0]
    assert len(after) > 5  # the crawls went on afterwards
    assert sum(result.stats.get("backoff/slowed", 0) for result in results) == 1
    for result in results:
        assert any(item["url"].endswith(path) for item in result.items)


def test_requests_waiting_for_a_slot_go_as_the_worker_gives_slots_back(tmp_path, redis):
    # Two slots, eight requests at once wanted, no delay: most requests find both slots
    # taken. Each must go when this worker gives one back, never after the poll interval
    # (10 min here; the leases last longer still): the crawl ends in seconds.
    site = build_site(seed=1)
    with FixturePortal(site) as portal:
        portal.inject(lambda target: True, slow_answer(0.05))
        (workdir, process), = start_workers(
            portal, site, tmp_path, 1, redis.url,
            DOWNLOAD_DELAY=0, CONCURRENT_REQUESTS=8, CONCURRENT_REQUESTS_PER_DOMAIN=2,
            PORTAL_MAX_LISTING_PAGES=2, POLITENESS_POLL_INTERVAL=600,
            POLITENESS_LEASE_TTL=900, DOWNLOAD_TIMEOUT=60,
        )  # fmt: skip
        try:
            process.wait(timeout=120)
        finally:
            process.kill()  # (ended already, unless it waited for the poll interval)
            process.wait()
        (result,) = finish([(workdir, process)])
        spans = list(portal.request_spans)
    assert len(result.items) >= 20
    assert result.stats["politeness/slot_waited"] >= 10
    assert most_at_once(spans) <= 2


def test_redis_away_nothing_is_sent_until_it_answers(tmp_path):
    site = build_site(seed=1)
    redis = RedisServer()  # its port chosen, not started yet
    try:
        with FixturePortal(site) as portal:
            workers = start_workers(
                portal, site, tmp_path, 1, redis.url, POLITENESS_REDIS_RETRY=0.5,
                PORTAL_MAX_LISTING_PAGES=1,
            )  # fmt: skip
            log = tmp_path / "worker-0" / "worker-0.log"

            def said(text: str):
                return lambda: log.exists() and text in log.read_text(encoding="utf-8")

            wait_for(said("does not answer"), "the worker to say that Redis does not answer")
            assert list(portal.request_log) == []  # not even robots.txt
            redis.start()
            (result,) = finish(workers)
            assert "answers again" in result.log
            assert portal.request_log and result.items
            assert result.stats["politeness/redis_errors"] >= 1
    finally:
        redis.close()
