"""Operators' view of a running crawl: the progress line, and JSON log lines on request."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime

from fixture_portal import FixturePortal, build_site
from tests.crawl import assert_no_warning_raised, crawl_command, run_crawl


def seconds(stamp: str) -> float:
    """A JSON log line's time (ISO 8601, UTC, whole seconds) as a POSIX time."""
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S%z").timestamp()


def final_progress(lines: list[str]) -> str:
    finals = [line for line in lines if "final: " in line]
    assert len(finals) == 1, finals
    return finals[0]


def test_text_log_ends_with_a_final_progress_line(tmp_path):
    with FixturePortal(build_site(seed=1), theme="classic") as portal:
        result = run_crawl(portal.base_url, tmp_path, settings={"PROGRESS_INTERVAL": 30})
    assert result.returncode == 0, result.log[-3000:]
    line = final_progress(result.log.splitlines())
    pages, items = result.stats["response_received_count"], result.stats["items/accepted"]
    assert f"final: {pages:,} pages" in line
    assert f"{items:,} items" in line
    assert f"{result.stats['archive/warc_bytes'] / 1e6:.1f} MB WARC" in line
    # Ours replaces Scrapy's periodic line.
    assert "Crawled " not in result.log


def test_json_logs_are_one_object_per_line_with_the_progress_counts(tmp_path):
    with FixturePortal(build_site(seed=1), theme="classic") as portal:
        command, env = crawl_command(portal.base_url, tmp_path, crawl_id="json-logs")
        # As in a container: no log file, the collector reads standard error.
        at = command.index(f"LOG_FILE={tmp_path / 'json-logs.log'}")
        del command[at - 1 : at + 1]
        env["ARCHIVER_LOG_JSON"] = "1"
        completed = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, timeout=600, text=True
        )
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = completed.stderr.splitlines()
    # Every line is one JSON object: nothing comes out as text.
    records = [json.loads(line) for line in lines]
    assert all({"time", "level", "logger", "message"} <= record.keys() for record in records)
    assert {record["level"] for record in records} >= {"INFO", "WARNING"}
    # The fixture's 404 and 500 pages are logged as they happen, with the URL in the message.
    assert any("HTTP 404" in record["message"] for record in records)
    final = json.loads(final_progress(lines))
    manifest = json.loads(
        (tmp_path / "archive" / "crawls" / "json-logs" / "manifest.json").read_text("utf-8")
    )
    stats = manifest["stats"]
    progress = dict(final["progress"])
    rate = progress.pop("pages_per_second")
    assert progress == {
        "pages": stats["response_received_count"],
        "items": stats["items/accepted"],
        "warc_bytes": stats["archive/warc_bytes"],
        "errors": stats.get("log_count/ERROR", 0),
    }
    # The rate of the pages since the progress line before (if none: since the spider
    # opened, after the first line), over at most the time the log spans (whole seconds).
    earlier = [r["progress"]["pages"] for r in records[: records.index(final)] if "progress" in r]
    since = stats["response_received_count"] - (earlier[-1] if earlier else 0)
    assert f"(+{since:,}, " in final["message"]
    spanned = seconds(final["time"]) - seconds(records[0]["time"]) + 1
    assert (rate > 0) == (since > 0), (rate, since)
    assert rate >= round(since / spanned, 2) - 0.01, (rate, since, spanned)
    assert_no_warning_raised("\n".join(record.get("exc_info", "") for record in records))
    stored = sum(p.stat().st_size for p in (tmp_path / "archive" / "warcs").rglob("*.warc.gz"))
    assert 0 < stats["archive/warc_bytes"] < stored  # the records; the files add warcinfo


def test_the_manifest_opens_with_a_report_read_at_a_glance(crawled):
    manifest = crawled.result.manifest
    report, stats = manifest["report"], manifest["stats"]
    items, pages = stats["items/accepted"], stats["response_received_count"]
    assert report["summary"].startswith(f"finished: full crawl, {items} articles")
    assert f"{pages} pages" in report["summary"] and "all files stored" in report["summary"]
    errors = report["pages"]["http_errors"]
    assert errors["404"] == stats["pages/http_error/404"] and errors["500"] >= 1
    assert report["articles"]["dropped"]["no_title"] == stats["items/dropped/no_title"]
    assert report["archive"]["warc_bytes"] == stats["archive/warc_bytes"] > 0
