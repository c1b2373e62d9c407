"""What crawls leave undone, folded into the state run after run (crawler/incremental/frontier.py),
and a cut-off items file mended to its last whole line (crawler/publishing/items_file.py)."""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib

import pytest

from crawler.archive.files import RecordLocation
from crawler.archive.writer import PendingRecord
from crawler.incremental.archived import ArchivedThisRun
from crawler.incremental.frontier import (
    ARTICLE,
    END,
    IMAGE,
    KNOWN,
    Frontier,
    ResumePoint,
    RunProgress,
    Walk,
)
from crawler.incremental.state import CrawlState
from crawler.publishing.items_file import repair_items
from crawler.storage import FileStore
from tests.helpers import run_in_own_loop

LISTING = "https://portal.test/chuyen-muc/kinh-te/"
SECTION = {"name": "Kinh tế", "slug": "kinh-te"}


def page(n: int) -> str:
    return f"{LISTING}page/{n}/"


def never(url: str) -> bool:
    return False


def test_a_walk_cut_short_resumes_at_its_last_page_and_completes_at_the_end():
    frontier = Frontier()
    run = RunProgress()
    walker = run.walker(LISTING, SECTION, None)
    walker.position = (page(13), 13)  # stopped there: its next page never came
    report = frontier.after_run(run, never, max_tries=3)
    walk = frontier.walk(LISTING)
    assert not walk.complete and [(p.url, p.page) for p in walk.resume] == [(page(13), 13)]
    assert report.incomplete_walks == 1 and report.resume_points == 1
    # A walk that never reached its end may not stop at known articles; from the first
    # page it may, when a resume point takes over.
    assert frontier.may_stop_early(LISTING, resumed=False)
    assert not frontier.may_stop_early(LISTING, resumed=True)

    run = RunProgress()
    top = run.walker(LISTING, SECTION, None)
    top.position, top.outcome = (LISTING, 1), KNOWN
    resumed = run.walker(LISTING, SECTION, frontier.resume_points()[0][1])
    resumed.position, resumed.outcome = (page(30), 30), END
    report = frontier.after_run(run, never, max_tries=3)
    assert frontier.walk(LISTING).complete and not frontier.walk(LISTING).resume
    assert report.incomplete_walks == 0
    assert frontier.may_stop_early(LISTING, resumed=False)


def test_a_walk_resumed_at_its_first_page_is_not_mistaken_for_the_walk_from_it():
    # A first crawl stopped before it read the section's first page: resume point page 1.
    frontier = Frontier()
    frontier.walks[LISTING] = Walk(LISTING, SECTION, resume=[ResumePoint(LISTING, 1)])
    run = RunProgress()
    resumed = run.walker(LISTING, SECTION, frontier.resume_points()[0][1])
    top = run.walker(LISTING, SECTION, None)  # the section found on the home page
    assert resumed.walker_id != top.walker_id
    top.position, top.outcome = (LISTING, 1), KNOWN
    resumed.position, resumed.outcome = (page(30), 30), END
    report = frontier.after_run(run, never, max_tries=3)
    assert frontier.walk(LISTING).complete and not frontier.walk(LISTING).resume
    assert report.incomplete_walks == 0


def test_a_walk_interrupted_after_it_was_complete_keeps_where_it_stopped():
    frontier = Frontier()
    run = RunProgress()
    run.walker(LISTING, SECTION, None).outcome = END
    frontier.after_run(run, never, max_tries=3)
    # Many new articles: the walk from page 1 is cut at page 4, before known articles.
    run = RunProgress()
    run.walker(LISTING, SECTION, None).position = (page(4), 4)
    frontier.after_run(run, never, max_tries=3)
    walk = frontier.walk(LISTING)
    assert walk.complete and [p.page for p in walk.resume] == [4]


def test_a_resume_point_that_reads_nothing_is_given_up_after_max_tries():
    frontier = Frontier()
    run = RunProgress()
    run.walker(LISTING, SECTION, None).position = (page(5), 5)
    frontier.after_run(run, never, max_tries=2)
    for _ in range(2):
        run = RunProgress()
        _walk, point = frontier.resume_points()[0]
        run.walker(LISTING, SECTION, point)  # the page fails: nothing read
        frontier.after_run(run, never, max_tries=2)
    walk = frontier.walk(LISTING)
    assert walk.given_up and not walk.resume and not frontier.resume_points()


def test_a_resume_point_not_taken_up_stays_as_it_was():
    frontier = Frontier()
    frontier.walks[LISTING] = Walk(LISTING, SECTION, resume=[ResumePoint(page(7), 7)])
    run = RunProgress()
    run.walker(LISTING, SECTION, None).outcome = KNOWN  # stopped early, resume not reached
    frontier.after_run(run, never, max_tries=3)
    assert [(p.page, p.tries) for p in frontier.walk(LISTING).resume] == [(7, 0)]


def test_pages_found_but_not_archived_are_pending_and_bad_answers_count_tries():
    frontier = Frontier()
    done = {"https://portal.test/good.html"}
    for number in range(1, 4):
        run = RunProgress()
        for url in ("good", "unasked", "bad", "alias"):
            run.ask(f"https://portal.test/{url}.html", ARTICLE, via=LISTING, section=SECTION)
        run.ask("https://portal.test/a.jpg", IMAGE, via="https://portal.test/good.html",
                section=None)  # fmt: skip
        run.answer("https://portal.test/bad.html", f"HTTP 500 (run {number})")
        run.produced["https://portal.test/alias.html"] = "https://portal.test/good.html"
        report = frontier.after_run(run, done.__contains__, max_tries=3)
    assert set(frontier.pending) == {
        "https://portal.test/unasked.html",
        "https://portal.test/a.jpg",
    }
    assert frontier.pending["https://portal.test/unasked.html"].tries == 0
    assert frontier.pending["https://portal.test/a.jpg"].kind == IMAGE
    bad = frontier.given_up["https://portal.test/bad.html"]
    assert (bad.tries, bad.last) == (3, "HTTP 500 (run 3)")
    assert report.given_up_now == 1 and report.unfetched == 2
    # The portal says it changed; archived now: no longer given up.
    run = RunProgress()
    run.ask("https://portal.test/bad.html", ARTICLE, via=None, section=None)
    frontier.after_run(run, {"https://portal.test/bad.html"}.__contains__, max_tries=3)
    assert "https://portal.test/bad.html" not in frontier.given_up


def test_robots_refusals_are_neither_pending_nor_tries():
    frontier = Frontier()
    run = RunProgress()
    run.ask("https://portal.test/noi-bo-x.html", ARTICLE, via=LISTING, section=None)
    run.refused.add("https://portal.test/noi-bo-x.html")
    frontier.after_run(run, never, max_tries=3)
    assert not frontier.pending and frontier.refused == {"https://portal.test/noi-bo-x.html"}
    assert frontier.holds("https://portal.test/noi-bo-x.html")


def test_the_frontier_round_trips_through_json():
    frontier = Frontier()
    run = RunProgress()
    run.walker(LISTING, SECTION, None).position = (page(2), 2)
    run.ask("https://portal.test/x.html", ARTICLE, via=LISTING, section=SECTION)
    run.answer("https://portal.test/x.html", "empty page")
    frontier.after_run(run, never, max_tries=3)
    again = Frontier.from_json(json.loads(json.dumps(frontier.to_json())))
    assert again.to_json() == frontier.to_json()
    assert again.pending["https://portal.test/x.html"].section == SECTION


def test_a_format_1_state_asks_again_for_what_it_called_unusable(tmp_path):
    store = FileStore(tmp_path)
    crawls = {"format": 1, "crawls": [], "unusable": ["https://portal.test/empty.html"]}
    store.put_bytes(json.dumps(crawls).encode(), "state/crawls.json")
    state = CrawlState.load(store)
    pending = state.frontier.pending["https://portal.test/empty.html"]
    assert (pending.kind, pending.tries) == (ARTICLE, 1)


# -- a cut-off items file ---------------------------------------------------------


def _items_stream(items: list[dict], flush_every: int) -> bytes:
    """The items as the crawl's feed writes them: one gzip stream, sync-flushed now and then."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = []
    for number, item in enumerate(items, 1):
        parts.append(compressor.compress((json.dumps(item) + "\n").encode()))
        if number % flush_every == 0:
            parts.append(compressor.flush(zlib.Z_SYNC_FLUSH))
    parts.append(compressor.flush())
    return b"".join(parts)


ITEMS = [
    {"url": f"https://portal.test/{n}.html", "warc": {"filename": "a.warc.gz",
                                                      "offset": 1000 * n, "length": 900}}
    for n in range(40)
]  # fmt: skip


@pytest.mark.parametrize("cut", [0.25, 0.5, 0.9, 1.0])
def test_a_cut_off_items_file_is_mended_to_its_last_whole_line(tmp_path, cut):
    whole = _items_stream(ITEMS, flush_every=5)
    open_path = tmp_path / "items.jsonl.gz.open"
    open_path.write_bytes(whole[: int(len(whole) * cut)])
    result = repair_items(open_path, lambda warc: True)
    assert result.path == tmp_path / "items.jsonl.gz" and not open_path.exists()
    with gzip.open(result.path, "rt") as lines:  # a whole gzip file
        kept = [json.loads(line) for line in lines]
    assert kept == ITEMS[: len(kept)] and len(kept) == result.kept
    if cut == 1.0:
        assert len(kept) == len(ITEMS)


def test_items_whose_record_was_cut_off_the_warc_are_left_out(tmp_path):
    open_path = tmp_path / "items.jsonl.gz.open"
    open_path.write_bytes(_items_stream(ITEMS, flush_every=1))
    result = repair_items(open_path, lambda warc: warc["offset"] + warc["length"] <= 20_000)
    with gzip.open(result.path, "rt") as lines:
        kept = [json.loads(line) for line in lines]
    assert kept == ITEMS[:20] and result.dropped == 20


def test_failures_that_say_nothing_about_the_page_are_not_tries():
    frontier = Frontier()
    url = "https://portal.test/slow.html"
    for _ in range(5):
        run = RunProgress()
        run.ask(url, ARTICLE, via=LISTING, section=None)
        run.fail(url, "failed: TimeoutError")
        frontier.after_run(run, never, max_tries=3)
    assert (frontier.pending[url].tries, frontier.pending[url].last) == (0, "failed: TimeoutError")
    assert not frontier.given_up


def test_an_image_written_leaves_only_its_file_name_in_memory():
    """What a run archived keeps a written image as its WARC file's name, not its record and
    future (one per image until the crawl's end), and drops one the writer failed."""

    async def run() -> dict:
        archived = ArchivedThisRun("c1", needs_warc=True, needs_items=True)
        loop = asyncio.get_running_loop()
        ok, failed, waiting = (PendingRecord(f"<urn:{n}>", loop.create_future()) for n in "abc")
        archived.add_image("http://p/ok.jpg", ok)
        archived.add_image("http://p/failed.jpg", failed)
        archived.add_image("http://p/waiting.jpg", waiting)
        ok.written.set_result([RecordLocation("c1-0.warc.gz", 0, 10, "<urn:a>")])
        failed.written.set_exception(OSError("writer gone"))
        await asyncio.sleep(0)  # the futures' callbacks run on the next turn of the loop
        assert archived.unwritten == {"http://p/waiting.jpg": waiting}
        failed.written.exception()  # retrieved: no "never retrieved" warning
        return dict(archived.images.items())

    images = run_in_own_loop(run())
    assert images == {"http://p/ok.jpg": "c1-0.warc.gz"}
    archived = ArchivedThisRun("c1", needs_warc=True, needs_items=True, images=images)
    _, committed = archived.commit(CrawlState(), {"warcs/c1/c1-0.warc.gz"})
    assert committed == {"http://p/ok.jpg"}
