"""Component tests of politeness: Retry-After, retry waits, parked retries, a site slowed
down. Real Scrapy objects, no server (the crawls are in
tests/test_faults_politeness.py)."""

import asyncio
import logging
import random
import time
from datetime import UTC, datetime

import pytest
from scrapy import Spider
from scrapy.core.downloader import Downloader, Slot
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import HtmlResponse, Request, Response
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler
from twisted.internet.defer import Deferred

from crawler.config import ConfigError
from crawler.politeness.backoff import SiteBackoffMiddleware, SiteSlowedDown
from crawler.politeness.config import PolitenessConfig
from crawler.politeness.parking import NOT_BEFORE, RetryParking
from crawler.politeness.retry import PoliteRetryMiddleware
from crawler.politeness.waits import backoff_wait, parse_retry_after
from crawler.publishing.report import crawl_report
from tests.helpers import project_settings
from tests.helpers import run_in_own_loop as run

URL = "https://thanhphohaiphong.gov.vn/bai-viet.html"
NOW = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)


def crawler_for(**overrides):
    crawler = get_crawler(Spider, settings_dict=project_settings(**overrides))
    crawler.stats.open_spider()
    crawler.spider = Spider.from_crawler(crawler, name="test")
    return crawler


def answer(status: int, headers: dict | None = None, request: Request | None = None) -> Response:
    request = request or Request(URL)
    return HtmlResponse(URL, status=status, headers=headers or {}, body=b"", request=request)


def wait_of(request: Request) -> float:
    return request.meta[NOT_BEFORE] - time.monotonic()


# -- Retry-After and backoff waits ----------------------------------------------------
@pytest.mark.parametrize(
    "value,date,expected",
    [
        ("120", None, 120.0),
        (b" 3600 ", None, 3600.0),
        ("0", None, 0.0),
        # An HTTP date counts from the answer's own Date header (the server's clock) ...
        ("Tue, 01 Dec 2026 10:02:00 GMT", "Tue, 01 Dec 2026 10:00:30 GMT", 90.0),
        # ... else from now; a date already past means no wait.
        ("Tue, 01 Dec 2026 10:00:45 GMT", None, 45.0),
        ("Tue, 01 Dec 2026 09:00:00 GMT", None, 0.0),
        ("-5", None, None),
        ("soon", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_retry_after_values(value, date, expected):
    assert parse_retry_after(value, date, now=NOW) == expected


def test_backoff_waits_grow_with_jitter_and_are_never_immediate():
    rng = random.Random(7)
    for attempt, ceiling in [(1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0), (6, 20.0), (9, 20.0)]:
        waits = [backoff_wait(attempt, 2.0, 20.0, rng) for _ in range(200)]
        assert ceiling / 2 <= min(waits) and max(waits) <= ceiling
        # Jitter: retries that failed together do not come back together.
        assert max(waits) - min(waits) > ceiling / 4


# -- settings ---------------------------------------------------------------------------
def test_profiles_parse():
    for module in ("settings.default", "settings.mirror"):
        settings = Settings()
        settings.setmodule(module)
        config = PolitenessConfig.from_settings(settings)
        assert config.backoff_statuses == {429, 503}
        assert config.retry_after_max == 300
        assert config.backoff_start_delay <= config.backoff_max_delay


@pytest.mark.parametrize(
    "overrides,name",
    [
        ({"RETRY_BACKOFF_BASE": 0}, "RETRY_BACKOFF_BASE"),
        ({"RETRY_BACKOFF_BASE": "soon"}, "RETRY_BACKOFF_BASE"),
        ({"RETRY_BACKOFF_MAX": 1.0}, "RETRY_BACKOFF_MAX"),
        ({"RETRY_AFTER_MAX": -1}, "RETRY_AFTER_MAX"),
        ({"RETRY_AFTER_MAX": "nan"}, "RETRY_AFTER_MAX"),
        ({"BACKOFF_MAX_DELAY": 1.0}, "BACKOFF_MAX_DELAY"),
        ({"BACKOFF_START_DELAY": 0}, "BACKOFF_START_DELAY"),
        ({"BACKOFF_STATUSES": [200]}, "BACKOFF_STATUSES"),
        ({"BACKOFF_STATUSES": ["busy"]}, "BACKOFF_STATUSES"),
    ],
)
def test_nonsense_is_rejected_naming_the_setting(overrides, name):
    settings = Settings(project_settings(**overrides))
    with pytest.raises(ConfigError, match=name):
        PolitenessConfig.from_settings(settings)


# -- the retry middleware ------------------------------------------------------------------
@pytest.fixture
def retry():
    crawler = crawler_for()
    return PoliteRetryMiddleware.from_crawler(crawler)


def test_a_429_is_retried_after_its_retry_after(retry):
    out = retry.process_response(Request(URL), answer(429, {"Retry-After": "120"}))
    assert isinstance(out, Request) and out.meta["retry_times"] == 1
    assert 119 < wait_of(out) <= 120
    stats = retry.crawler.stats
    assert stats.get_value("retry/count") == 1
    assert stats.get_value("retry/retry_after") == 1


def test_a_retry_after_over_the_cap_is_not_retried_and_is_counted(retry, caplog):
    response = answer(429, {"Retry-After": "3600"})
    with caplog.at_level(logging.WARNING):
        assert retry.process_response(Request(URL), response) is response
    stats = retry.crawler.stats
    assert stats.get_value("limits/retry_after_capped") == 1
    assert stats.get_value("retry/count") is None
    assert "RETRY_AFTER_MAX" in caplog.text and URL in caplog.text


def test_errors_without_retry_after_back_off_exponentially(retry):
    first = retry.process_response(Request(URL), answer(503))
    assert 1.0 - 0.1 <= wait_of(first) <= 2.0  # half to all of RETRY_BACKOFF_BASE
    second = retry.process_exception(first, TimeoutError("timed out"))
    assert second.meta["retry_times"] == 2
    assert 2.0 - 0.1 <= wait_of(second) <= 4.0


def test_the_last_answer_goes_on_when_retries_are_spent(retry):
    spent = Request(URL, meta={"retry_times": 3})
    response = answer(503, request=spent)
    assert retry.process_response(spent, response) is response
    assert retry.crawler.stats.get_value("retry/max_reached") == 1


def test_other_answers_pass(retry):
    response = answer(404)
    assert retry.process_response(Request(URL), response) is response
    assert retry.process_request(Request(URL)) is None


# -- parked retries ---------------------------------------------------------------------------
async def until(condition, what: str) -> None:
    while not condition():
        await asyncio.sleep(0.01)


def test_a_parked_retry_comes_back_at_its_time_and_keeps_the_crawl_open():
    crawler = crawler_for()
    released = []
    parking = RetryParking(
        lambda r: released.append((time.monotonic(), r)), crawler.stats, in_place_max=30
    )

    async def scenario():
        request = RetryParking.hold(Request(URL), 0.3)
        due = request.meta[NOT_BEFORE]
        with pytest.raises(IgnoreRequest):
            parking.request_scheduled(request)
        with pytest.raises(DontCloseSpider):
            parking.spider_idle()
        await until(lambda: released, "the retry released")
        when, back = released[0]
        assert back is request and when >= due
        # Put back in the engine, it goes to the scheduler this time.
        assert parking.request_scheduled(back) is None
        assert len(parking) == 0
        parking.spider_idle()  # nothing parked: the crawl may close

    run(scenario())


def test_a_closing_crawl_abandons_parked_retries_and_counts_them(caplog):
    crawler = crawler_for()
    released = []
    parking = RetryParking(released.append, crawler.stats, in_place_max=30)

    async def scenario():
        for n in range(3):
            with pytest.raises(IgnoreRequest):
                parking.request_scheduled(RetryParking.hold(Request(f"{URL}?n={n}"), 0.2))
        with caplog.at_level(logging.WARNING):
            parking.spider_closed(reason="shutdown")
        await asyncio.sleep(0.4)

    run(scenario())
    assert released == []
    assert crawler.stats.get_value("pages/dropped/retry_abandoned") == 3
    assert "3 retries still waiting" in caplog.text and f"{URL}?n=2" in caplog.text


def test_a_retry_that_bypassed_the_scheduler_waits_in_place_at_most_the_bound():
    crawler = crawler_for()
    parking = RetryParking(None, crawler.stats, in_place_max=0.2)

    async def scenario():
        request = RetryParking.hold(Request(URL), 3600)
        start = time.monotonic()
        await parking.wait_in_place(request)
        return time.monotonic() - start

    assert 0.2 <= run(scenario()) < 3600
    assert parking.wait_in_place(Request(URL)) is None


# -- a site slowed down -----------------------------------------------------------------------
class Site:
    """The backoff middleware with a real downloader and the slot of one site."""

    def __init__(self, **overrides):
        self.crawler = crawler_for(**overrides)
        self.downloader = Downloader(self.crawler)
        self.slot = self.downloader.slots["portal"] = Slot(concurrency=2, delay=0.0, jitter=0.5)
        config = PolitenessConfig.from_settings(self.crawler.settings)
        self.backoff = SiteBackoffMiddleware(config, self.crawler.stats, lambda: self.downloader)

    def answers(self, status: int, headers: dict | None = None, sent_ago: float = 0.0) -> None:
        request = Request(URL, meta={"download_slot": "portal", "download_latency": sent_ago})
        response = answer(status, headers, request)
        assert self.backoff.process_response(request, response) is response

    def stat(self, name: str):
        return self.crawler.stats.get_value(name)


def test_a_site_answering_429_and_503_is_slowed_down_step_by_step():
    site = Site(DOWNLOAD_DELAY=0.0, BACKOFF_START_DELAY=1.0, BACKOFF_MAX_DELAY=5.0)
    concurrency = site.downloader.total_concurrency
    site.answers(429)
    assert site.slot.delay == 1.0
    # One request at a time while slowed: nothing queues behind a long delay.
    assert site.downloader.total_concurrency == 1
    site.answers(503)
    assert site.slot.delay == 2.0
    # An answer to a request sent before the last change does not count again.
    site.answers(503, sent_ago=60)
    assert site.slot.delay == 2.0
    site.answers(503)
    site.answers(503)
    assert site.slot.delay == 5.0  # BACKOFF_MAX_DELAY
    assert site.stat("backoff/slowed") == 4
    assert site.stat("backoff/max_delay") == 5.0
    # Normal answers relax it, halving, back to DOWNLOAD_DELAY.
    site.answers(200)
    assert site.slot.delay == 2.5
    site.answers(404)
    assert site.slot.delay == 1.25
    site.answers(500)  # an error is not a sign of health
    assert site.slot.delay == 1.25
    site.answers(200)
    assert site.slot.delay == 0.0
    assert site.stat("backoff/recovered") == 1
    assert site.downloader.total_concurrency == concurrency


def test_requests_queued_for_a_slowed_site_go_back_to_the_scheduler():
    site = Site()
    queued = [(Request(f"{URL}?n={n}"), Deferred()) for n in range(4)]
    site.slot.queue.extend(queued)
    failures = []
    for _request, deferred in queued:
        deferred.addErrback(failures.append)
    site.answers(429)
    # The next one still goes (after the delay); the others wait in the scheduler.
    assert list(site.slot.queue) == queued[:1]
    assert [f.type for f in failures] == [SiteSlowedDown] * 3
    assert site.stat("backoff/requeued") == 3
    back = site.backoff.process_exception(queued[3][0], SiteSlowedDown())
    assert back.url == queued[3][0].url and back.dont_filter
    assert site.backoff.process_exception(queued[3][0], TimeoutError()) is None


def test_a_retry_after_sets_the_pace_at_once_within_the_bound():
    site = Site(BACKOFF_START_DELAY=1.0, BACKOFF_MAX_DELAY=30.0)
    site.answers(503, {"Retry-After": "12"})
    assert site.slot.delay == 12.0
    site.answers(429, {"Retry-After": "3600"})
    assert site.slot.delay == 30.0


def test_a_slowed_site_never_goes_below_download_delay():
    site = Site(DOWNLOAD_DELAY=1.5, BACKOFF_START_DELAY=2.0, BACKOFF_MAX_DELAY=30.0)
    site.slot.delay = 1.5
    site.answers(429)
    site.answers(200)
    assert site.slot.delay == 1.5


# -- the report --------------------------------------------------------------------------------
def test_the_report_says_when_the_portal_slowed_the_crawl_down():
    stats = {
        "retry/count": 4,
        "retry/retry_after": 2,
        "backoff/slowed": 3,
        "backoff/max_delay": 8.0,
        "limits/retry_after_capped": 1,
    }
    report = crawl_report(stats, "finished")
    assert "slow down 3 times (up to 8 s between requests)" in report["summary"]
    assert report["politeness"]["retries"] == 4
    assert report["politeness"]["max_delay_seconds"] == 8.0
    assert report["limits"] == {"retry_after_capped": 1}
    assert "slow down" not in crawl_report({}, "finished")["summary"]
