"""The crawl report in the manifest: what a person reads at a glance, from the final stats.

Conventions the components follow so that the report shows everything without knowing
each of them:
- ``pages/dropped/<reason>``: a response that was fetched (or begun) but not used (too
  large, a decompression bomb, too many redirects, …);
- ``limits/<name>``: a bound that was reached (links on one page, depth of an article
  chain, pages or time per crawl, a ``Retry-After`` over its cap, …).
Both count as problems in the summary: "0 pages dropped or limits reached" means nothing
was dropped or cut. So do the pages counted under older names (``UNUSABLE_PAGES``): empty,
not HTML, unreadable, redirect loops, redirects off the portal.
The ``politeness`` part says how often pages were retried and whether the portal had the
crawl slow down (``retry/*``, ``backoff/*``).
"""

from __future__ import annotations

# Pages fetched but not used, counted by the spider and the middlewares under their own
# names: in the report's dropped pages too.
UNUSABLE_PAGES = {
    "pages/empty/": "empty/",
    "pages/not_html/": "not_html/",
    "pages/unparseable/": "unparseable/",
    "pages/unparseable": "unparseable/article",
    "pages/redirect_loop": "redirect_loop",
    "scope/blocked_request": "off_portal",
    "scope/private_address": "private_address",
}


def _dropped_pages(stats: dict) -> dict[str, int]:
    dropped = _sum(stats, "pages/dropped/")
    for key, value in stats.items():
        if not isinstance(value, int):
            continue
        for prefix, name in UNUSABLE_PAGES.items():
            if prefix.endswith("/") and key.startswith(prefix):
                dropped[name + key.removeprefix(prefix)] = value
            elif key == prefix:
                dropped[name] = value
    return dict(sorted(dropped.items()))


def _sum(stats: dict, prefix: str) -> dict[str, int]:
    return {
        key.removeprefix(prefix): value
        for key, value in sorted(stats.items())
        if key.startswith(prefix) and isinstance(value, int)
    }


def crawl_report(stats: dict, finish_reason: str | None) -> dict:
    """A summary line and the figures behind it: pages, articles, archive, problems."""
    pages = stats.get("response_received_count", 0)
    items = stats.get("items/accepted", 0)
    new_versions = stats.get("incremental/new_versions", 0)
    http_errors = _sum(stats, "pages/http_error/")
    failures = _sum(stats, "pages/failed/")
    dropped_pages = _dropped_pages(stats)
    limits = _sum(stats, "limits/")
    dropped = _sum(stats, "items/dropped/")
    unstored = stats.get("archive/unstored", 0)
    errors = stats.get("log_count/ERROR", 0)
    seconds = stats.get("elapsed_time_seconds") or 0
    mode = stats.get("incremental/mode", "full")
    stored = f"{unstored} files not stored (in the spool)" if unstored else "all files stored"
    walk = _walk(stats)
    problems = sum(dropped_pages.values()) + sum(limits.values())
    slowed = stats.get("backoff/slowed", 0)
    summary = (
        f"{finish_reason}: {mode} crawl, {items} articles ({new_versions} new versions), "
        f"{pages} pages in {seconds:.0f} s, {sum(http_errors.values())} HTTP errors, "
        f"{sum(failures.values())} failed fetches, {problems} pages dropped or limits "
        f"reached, {errors} logged errors; {stored}"
    )
    if slowed:
        summary += (
            f"; the portal asked to slow down {slowed} times "
            f"(up to {stats.get('backoff/max_delay', 0):g} s between requests)"
        )
    if walk is not None:
        summary += "; " + walk["summary"]
    distributed = _distributed(stats)
    if distributed is not None:
        summary += "; " + distributed["summary"]
    report = {
        "summary": summary,
        "mode": mode,
        "pages": {
            "fetched": pages,
            "http_errors": http_errors,
            "failed": failures,
            "dropped": dropped_pages,
            "rendered": stats.get("browser/pages", 0),
        },
        "articles": {
            "items": items,
            "new_versions": new_versions,
            "dropped": dropped,
            "known_skipped": stats.get("incremental/known_skipped", 0),
        },
        "limits": limits,
        "walk": walk,
        "politeness": {
            "retries": stats.get("retry/count", 0),
            "retries_after_retry_after": stats.get("retry/retry_after", 0),
            "gave_up": stats.get("retry/max_reached", 0),
            "slowed_down": slowed,
            "max_delay_seconds": stats.get("backoff/max_delay", 0),
        },
        "archive": {
            "warc_files": stats.get("archive/files", 0),
            "warc_bytes": stats.get("archive/warc_bytes", 0),
            "records": stats.get("archive/records", 0),
            "unstored_files": unstored,
        },
        "errors_logged": errors,
    }
    if distributed is not None:
        report["distributed"] = distributed
    return report


def _distributed(stats: dict) -> dict | None:
    """A crawl of several workers (crawler/distributed/): how many, and what was taken over
    from those that died."""
    workers = stats.get("distributed/workers")
    if not workers:
        return None
    taken = stats.get("distributed/taken_over", 0)
    recovered = stats.get("distributed/workers_recovered", 0)
    replaced = stats.get("distributed/finisher_replaced")
    summary = f"{workers} workers, {taken} requests taken over from {recovered} dead"
    if replaced:
        summary += f"; finished in place of {replaced}, which died finishing"
    return {
        "summary": summary,
        "workers": workers,
        "taken_over": taken,
        "dead_workers_recovered": recovered,
        "duplicate_items_dropped": stats.get("distributed/items_duplicates", 0),
        "finisher_replaced": replaced,
    }


def _walk(stats: dict) -> dict | None:
    """Whether the portal has been walked to its end, and what is left for the next run
    (the incremental state's frontier; None when there is no state)."""
    if "frontier/sections" not in stats:
        return None
    sections = stats.get("frontier/sections", 0)
    incomplete = stats.get("frontier/incomplete_walks", 0)
    unfetched = stats.get("frontier/unfetched", 0)
    retry = stats.get("frontier/retry_later", 0)
    # As the state judges it (crawler/incremental/crawl.py walk_complete): no section, no walk.
    complete = sections > 0 and not incomplete and not unfetched
    if complete:
        summary = "walk complete"
    elif not sections:
        summary = "walk not started: no section found yet"
    else:
        summary = (
            f"walk incomplete: {incomplete} listings and {unfetched} pages left for the next run"
        )
    if retry:
        summary += f", {retry} pages that answered badly to try again"
    return {
        "summary": summary,
        "complete": complete,
        "sections": sections,
        "incomplete_sections": incomplete,
        "resume_points": stats.get("frontier/resume_points", 0),
        "unfetched_pages": unfetched,
        "pending_pages": stats.get("frontier/pending", 0),
        "retry_later": retry,
        "given_up": stats.get("frontier/given_up", 0),
        "given_up_now": stats.get("frontier/given_up_now", 0),
        "refused": stats.get("frontier/refused", 0),
    }
