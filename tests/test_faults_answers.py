"""A bad answer is a reason to try again later, never a verdict: an article that answered
200 with garbage, an empty body or a maintenance page is fetched again by the next run and
archived once the portal serves it; one that keeps answering badly is given up after
INCREMENTAL_MAX_TRIES runs, and the report says so."""

from __future__ import annotations

import json
import random
from urllib.parse import urlsplit

from fixture_portal import FixturePortal, build_site, expected_items
from tests import faults
from tests.archive_truth import assert_crawl_true, assert_state_true
from tests.crawl import run_crawl
from tests.test_crawl import RUN_FIELDS

SETTINGS = {"BROWSER_ENABLED": False, "PORTAL_MAX_LISTING_PAGES": 12}
# WordPress's own maintenance page (wp_maintenance(), Vietnamese), here served with 200 by a
# cache: a headline and no article text. (A page with a paragraph under its headline reads as
# an article without a sapo: its paragraph is a body, and it would be archived as an item.)
MAINTENANCE = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Bảo trì</title></head>"
    "<body><h1>Tạm thời không có sẵn để bảo trì theo lịch trình. Kiểm tra lại sau một phút."
    "</h1></body></html>"
).encode()


def requests_for(log: list, path: str) -> int:
    return sum(1 for _method, target, _headers in log if target == path)


def test_bad_answers_are_fetched_again_and_a_lasting_one_is_given_up(tmp_path):
    site = build_site(seed=1)
    archive = tmp_path / "archive"
    with FixturePortal(site, theme="classic") as portal:
        expected = expected_items(site, theme="classic", base_url=portal.base_url)
        # Four ordinary articles, linked from their listings.
        picked = sorted(url for url, item in expected.items() if item["section"])[10:14]
        garbage, empty, maintenance, lasting = (urlsplit(url).path for url in picked)
        noise = random.Random(1).randbytes(4096)
        portal.inject(garbage, faults.first(1, faults.answer(200, noise)))
        portal.inject(empty, faults.first(1, faults.answer(200, b"")))
        portal.inject(maintenance, faults.first(1, faults.answer(200, MAINTENANCE)))
        portal.inject(lasting, faults.answer(200, noise))
        runs, logs = [], []
        for number in range(1, 5):
            before = len(portal.request_log)
            runs.append(run_crawl(portal.base_url, tmp_path, crawl_id=f"run{number}",
                                  settings=SETTINGS))  # fmt: skip
            logs.append(portal.request_log[before:])
    for run in runs:
        assert run.returncode == 0, run.log[-3000:]
        assert_crawl_true(archive, run.crawl_id)
    first, second, third, fourth = runs
    recovered = {garbage, empty, maintenance}

    # Run 1: no item for the four; each counted as a page to try again.
    assert not {urlsplit(item["url"]).path for item in first.items} & (recovered | {lasting})
    walk = first.manifest["report"]["walk"]
    assert walk["complete"] and walk["retry_later"] >= 4, walk
    # Run 2: the three answer properly now and are archived, exactly as the portal has them.
    second_items = {urlsplit(item["url"]).path: item for item in second.items}
    assert recovered <= set(second_items)
    for path in recovered:
        item = second_items[path]
        assert {k: v for k, v in item.items() if k not in RUN_FIELDS} == expected[item["url"]]
    # Each was asked once per run until archived, then never again.
    for path in recovered:
        assert [requests_for(log, path) for log in logs] == [1, 1, 0, 0], path
    # The lasting one: asked in three runs (INCREMENTAL_MAX_TRIES), then given up.
    assert [requests_for(log, lasting) for log in logs] == [1, 1, 1, 0]
    assert third.manifest["report"]["walk"]["given_up_now"] >= 1
    assert fourth.manifest["report"]["walk"]["given_up"] >= 1
    state = json.loads((archive / "state" / "crawls.json").read_text())
    given_up = {urlsplit(page["url"]).path: page for page in state["frontier"]["given_up"]}
    assert given_up[lasting]["tries"] == 3 and given_up[lasting]["last"].startswith("dropped")
    known = assert_state_true(archive)
    assert {urlsplit(url).path for url in known} >= recovered
    assert lasting not in {urlsplit(url).path for url in known}
