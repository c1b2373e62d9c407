"""The crawl report: every page dropped and every limit reached shows, and the walk's state."""

from crawler.publishing.report import crawl_report


def test_every_drop_and_limit_is_a_problem_in_the_summary():
    stats = {
        "pages/empty/article": 2,
        "pages/not_html/article": 1,
        "pages/unparseable": 1,
        "pages/redirect_loop": 1,
        "scope/blocked_request": 3,
        "pages/dropped/decompressed_too_large": 1,
        "limits/related_depth": 4,
        "log_count/ERROR": 0,
    }
    report = crawl_report(stats, "finished")
    assert report["pages"]["dropped"] == {
        "decompressed_too_large": 1,
        "empty/article": 2,
        "not_html/article": 1,
        "off_portal": 3,
        "redirect_loop": 1,
        "unparseable/article": 1,
    }
    assert report["limits"] == {"related_depth": 4}
    assert "13 pages dropped or limits reached, 0 logged errors" in report["summary"]


def test_a_clean_crawl_says_so():
    report = crawl_report({"response_received_count": 10, "items/accepted": 4}, "finished")
    assert (
        "0 HTTP errors, 0 failed fetches, 0 pages dropped or limits reached" in (report["summary"])
    )
    assert report["walk"] is None  # no incremental state


def test_the_walk_says_what_is_left_for_the_next_run():
    left = crawl_report(
        {"frontier/sections": 9, "frontier/incomplete_walks": 2, "frontier/unfetched": 40,
         "frontier/retry_later": 3, "frontier/pending": 43},
        "shutdown",
    )  # fmt: skip
    assert not left["walk"]["complete"]
    assert left["summary"].endswith(
        "walk incomplete: 2 listings and 40 pages left for the next run, 3 pages that "
        "answered badly to try again"
    )
    done = crawl_report({"frontier/sections": 9, "frontier/pending": 3}, "finished")
    assert done["walk"]["complete"] and done["summary"].endswith("walk complete")
    # A crawl that read no listing (the home page or robots.txt unreachable) walked nothing.
    none = crawl_report({"frontier/sections": 0}, "finished")
    assert not none["walk"]["complete"]
    assert none["summary"].endswith("walk not started: no section found yet")
