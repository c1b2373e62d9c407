"""Run a scrapy command with the CPU time of the crawl's thread in its parts (extraction,
the cleaning pipeline, listing links) measured, for bench/crawl_profile.py --sampler timers.

    python bench/timed_crawl.py OUT.json scrapy-args...

Writes to OUT.json at exit the main thread's CPU seconds (``time.thread_time``, start-up
included) and those spent in each part: no profiler, so no overhead, and waiting for a busy
machine's CPU is not counted.
"""

import atexit
import json
import sys
import time


def _timed(function, part: str, spent: dict):
    def timed(*args, **kwargs):
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[part] += time.thread_time() - started

    return timed


def _instrument(spent: dict) -> None:
    import crawler.pipelines.clean as clean
    import crawler.spiders.portal as portal

    # The spider calls these through its module's names.
    portal.extract_article = _timed(portal.extract_article, "extract_article", spent)
    portal.article_links = _timed(portal.article_links, "listing links", spent)
    portal.next_listing_page = _timed(portal.next_listing_page, "listing links", spent)
    pipeline = clean.CleanTextPipeline
    pipeline.process_item = _timed(pipeline.process_item, "CleanTextPipeline", spent)


def _report(path: str, spent: dict) -> None:
    with open(path, "w", encoding="utf-8") as out:
        json.dump({"main_thread": time.thread_time(), **spent}, out)


if __name__ == "__main__":  # the WARC writer process (spawned) imports this module too
    from scrapy.cmdline import execute

    spent = {"extract_article": 0.0, "listing links": 0.0, "CleanTextPipeline": 0.0}
    _instrument(spent)
    atexit.register(_report, sys.argv[1], spent)
    execute(["scrapy", *sys.argv[2:]])
