"""A crawl killed outright does not keep the state lock, and a crawl that lost its lock
stops rather than save the state over another's.

Real processes, real signals: a crawl's process group is killed with SIGKILL and left
unreaped (a zombie, which ``os.kill(pid, 0)`` takes for alive), then the next run starts:
on the same spool or host it takes the lock over at once; from another host (a UTS
namespace with its own host name, as another pod has) it watches the lock until it expires.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from crawler.holders import Holder, _stat
from fixture_portal import FixturePortal, build_site
from tests.crawl import crawl_command, run_crawl
from tests.helpers import wait_for, whole_records

TTL = 6  # seconds: renewed every 2 s
SETTINGS = {
    "BROWSER_ENABLED": False,
    "PORTAL_MAX_LISTING_PAGES": 2,
    "INCREMENTAL_LOCK_TTL": TTL,
}
# Slow enough to be running when the test acts.
SLOW = {"CONCURRENT_REQUESTS": 1, "DOWNLOAD_DELAY": 0.05}


# -- who holds a lock ------------------------------------------------------------


def started(pid: int) -> Holder:
    return Holder(Holder.current().host, pid, Holder.current().boot_id, _stat(pid)[1])


def test_a_running_process_holds():
    assert Holder.current().is_gone() is False
    with subprocess.Popen(["sleep", "60"]) as child:
        try:
            assert started(child.pid).is_gone() is False
        finally:
            child.kill()


def test_a_killed_unreaped_process_is_gone_though_kill_0_says_otherwise():
    child = subprocess.Popen(["sleep", "60"])
    holder = started(child.pid)
    child.kill()
    # Wait for it to die without reaping it: a zombie.
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
    try:
        os.kill(child.pid, 0)  # the old check: no error, "alive"
        assert _stat(child.pid)[0] == "Z"
        assert holder.is_gone() is True
    finally:
        child.wait()
    assert holder.is_gone() is True  # reaped: no such process


def test_another_process_with_the_same_pid_is_not_the_holder():
    here = Holder.current()
    reused = Holder(here.host, here.pid, here.boot_id, here.started - 1)
    assert reused.is_gone() is True


def test_a_holder_elsewhere_cannot_be_judged_from_here():
    here = Holder.current()
    assert Holder("another-host", here.pid, here.boot_id, here.started).is_gone() is None
    assert Holder(here.host, here.pid, "another-boot", here.started).is_gone() is None
    assert Holder.from_dict({"host": here.host, "pid": here.pid}).is_gone() is None


# -- whole crawls --------------------------------------------------------------------


@pytest.fixture(scope="module")
def portal():
    with FixturePortal(build_site(seed=1), theme="classic") as served:
        yield served


def other_host_prefix() -> list[str]:
    """A command prefix that runs a program under another host name (a UTS namespace)."""
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1): cannot give a crawl another host name")
    prefix = ["unshare", "--uts"] if os.geteuid() == 0 else ["unshare", "-r", "--uts"]
    probe = subprocess.run(
        [*prefix, "sh", "-c", "hostname other-host && hostname"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0 or probe.stdout.strip() != "other-host":
        pytest.skip(f"cannot make a UTS namespace here: {probe.stderr.strip()}")
    return [*prefix, "sh", "-c", 'hostname other-host && exec "$@"', "sh"]


def start_crawl(portal, workdir: Path, crawl_id: str, prefix=(), **settings):
    """A slow crawl in its own process group, once it has fetched something."""
    workdir.mkdir(parents=True, exist_ok=True)
    command, env = crawl_command(
        portal.base_url, workdir, crawl_id=crawl_id, settings={**SETTINGS, **SLOW, **settings}
    )
    served = len(portal.request_log)
    process = subprocess.Popen([*prefix, *command], cwd=workdir, env=env, start_new_session=True)
    wait_for(lambda: len(portal.request_log) >= served + 20, f"crawl {crawl_id} to get going")
    assert process.poll() is None, f"crawl {crawl_id} ended too soon"
    return process


def lock_of(archive: Path) -> dict | None:
    path = archive / "state" / "lock.json"
    return json.loads(path.read_text()) if path.exists() else None


def crawls_in_state(archive: Path) -> list[str]:
    path = archive / "state" / "crawls.json"
    if not path.exists():
        return []
    return [crawl["crawl_id"] for crawl in json.loads(path.read_text())["crawls"]]


@pytest.mark.parametrize("same_spool", [True, False], ids=["same-spool", "other-spool"])
def test_after_kill_9_of_the_group_the_next_run_on_this_host_takes_the_lock_at_once(
    portal, tmp_path, same_spool
):
    archive = tmp_path / "archive"
    killed = start_crawl(portal, tmp_path / "killed", "killed", ARCHIVE_URI=archive)
    assert lock_of(archive)["crawl_id"] == "killed"
    # Something to recover: the writer (a process that starts slowly on a busy machine) has
    # written a whole record.
    wait_for(lambda: whole_records(tmp_path / "killed" / "spool" / "killed"), "a whole record")
    os.killpg(killed.pid, signal.SIGKILL)
    os.waitid(os.P_PID, killed.pid, os.WEXITED | os.WNOWAIT)  # dead, not reaped: a zombie
    try:
        spool = tmp_path / "killed" / "spool" if same_spool else tmp_path / "next" / "spool"
        (tmp_path / "next").mkdir()
        after = run_crawl(
            portal.base_url,
            tmp_path / "next",
            crawl_id="next",
            settings={**SETTINGS, "ARCHIVE_URI": archive, "WARC_SPOOL_DIR": spool},
        )
    finally:
        killed.wait()
    assert after.returncode == 0, after.log[-3000:]
    reason = "it held the spool this run holds now" if same_spool else "its process"
    assert "taking over the state lock of crawl killed" in after.log
    assert reason in after.log
    assert "watching it" not in after.log  # taken at once, not after the TTL
    assert crawls_in_state(archive) == ["next"]
    assert lock_of(archive) is None
    if same_spool:
        # The killed crawl's files were recovered and stored by the next run.
        assert replace(after, archive=archive).stats["archive/files/recovered"] >= 1
        assert list((archive / "warcs" / "killed").glob("*.warc.gz"))


def test_a_killed_crawl_on_another_host_is_taken_over_when_its_lock_expires(portal, tmp_path):
    prefix = other_host_prefix()
    archive = tmp_path / "archive"
    # A lock that lives long enough for the next run to find it still held however slowly
    # it starts on a busy machine (the default TTL is minutes; TTL's 6 s was not always).
    ttl = {"INCREMENTAL_LOCK_TTL": 5 * TTL}
    killed = start_crawl(portal, tmp_path / "killed", "killed", prefix, ARCHIVE_URI=archive, **ttl)
    assert lock_of(archive)["host"] == "other-host"
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    (tmp_path / "next").mkdir()
    after = run_crawl(
        portal.base_url,
        tmp_path / "next",
        crawl_id="next",
        settings={**SETTINGS, **ttl, "ARCHIVE_URI": archive},
    )
    assert after.returncode == 0, after.log[-3000:]
    assert "crawl killed on other-host holds the state lock" in after.log
    assert "watching it" in after.log
    assert "taking over the state lock of crawl killed" in after.log
    assert "it expired" in after.log
    assert crawls_in_state(archive) == ["next"]


def test_a_running_crawl_on_another_host_renews_its_lock_and_the_next_run_exits_5(portal, tmp_path):
    prefix = other_host_prefix()
    archive = tmp_path / "archive"
    running = start_crawl(portal, tmp_path / "running", "running", prefix, ARCHIVE_URI=archive)
    try:
        (tmp_path / "next").mkdir()
        served = len(portal.request_log)
        blocked = run_crawl(
            portal.base_url,
            tmp_path / "next",
            crawl_id="blocked",
            settings={**SETTINGS, "ARCHIVE_URI": archive},
        )
        assert running.poll() is None
        assert running.wait(timeout=600) == 0
    finally:
        running.kill()
    assert blocked.returncode == 5, blocked.log[-3000:]
    assert "watching it" in blocked.log
    assert "crawl running on other-host is updating" in blocked.log
    assert "Crawled (" not in blocked.log
    assert len(portal.request_log) > served  # the running crawl went on
    assert crawls_in_state(archive) == ["running"]


def test_a_crawl_whose_lock_was_taken_over_stops_and_does_not_save_the_state(portal, tmp_path):
    """Its renewals failed until the lock expired and another run took it: at its next
    renewal the crawl finds out, stops (exit 6) and leaves the state to the other run."""
    archive = tmp_path / "archive"
    running = start_crawl(portal, tmp_path / "running", "running", ARCHIVE_URI=archive)
    try:
        theirs = {
            "crawl_id": "other",
            "host": "other-host",
            "pid": 1,
            "token": "theirs",
            "since": "2026-12-01T00:00:00+00:00",
            "expires_at": "2999-01-01T00:00:00+00:00",
        }
        (archive / "state" / "lock.json").write_text(json.dumps(theirs))
        assert running.wait(timeout=600) == 6
    finally:
        running.kill()
    log = (tmp_path / "running" / "running.log").read_text(encoding="utf-8")
    assert "took over the state lock" in log and "stopping the crawl" in log
    assert "incremental state not saved" in log
    manifest = json.loads((archive / "crawls" / "running" / "manifest.json").read_text())
    assert manifest["finish_reason"] == "state_lock_lost"
    assert manifest["stats"]["incremental/state_not_saved"] == 1
    assert crawls_in_state(archive) == []
    assert lock_of(archive) == theirs  # not released: it is not ours
