"""Operator mistakes are refused before any fetch with one line and exit 3; overlapping
runs get exit 5 whatever they share; nothing listens that the crawl does not need.

The whole-run tests start ``scrapy crawl`` / ``scrapy sync`` as a user would, against the
fixture portal, and assert that the portal saw no request and nothing was written where it
should not be.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.settings import Settings

from crawler.config import ConfigError, PortalConfig, crawl_id_from_settings
from crawler.incremental.lock import lock_ttl
from crawler.storage_uri import archive_root_uri, local_path
from fixture_portal import FixturePortal, build_site
from tests.crawl import assert_no_warning_raised, crawl_command, scrapy_env
from tests.helpers import wait_for

SECRET = "s3cr3t-pa55word"


def settings(**overrides) -> Settings:
    values = Settings()
    values.setmodule("settings.default")
    values.update(overrides)
    return values


# -- parsing -----------------------------------------------------------------


@pytest.mark.parametrize("value", ["test-crawl", "20261201224447-a1b2c3", "nightly.2026_12"])
def test_a_crawl_id_is_one_safe_name(value):
    assert crawl_id_from_settings(settings(CRAWL_ID=value)) == value


@pytest.mark.parametrize(
    "value", ["../../x", "a/b", "..", ".hidden", "-x", "a b", "x" * 129, "", "/abs", "a\\b"]
)
def test_a_crawl_id_that_is_not_a_single_name_is_refused(value):
    with pytest.raises(ConfigError, match="CRAWL_ID"):
        crawl_id_from_settings(settings(CRAWL_ID=value))


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"PORTAL_URL": ""}, "PORTAL_URL is empty"),
        ({"PORTAL_URL": "   "}, "PORTAL_URL is empty"),
        ({"PORTAL_URL": f"https://archiver:{SECRET}@example.org/"}, "no user name or password"),
        ({"PORTAL_URL": f"ftp://u:{SECRET}@example.org/"}, "no user name or password"),
        (
            {"PORTAL_SECTIONS": [f"https://u:{SECRET}@example.org/chuyen-muc/x/"]},
            "PORTAL_SECTIONS: no user name",
        ),
        ({"PORTAL_EXTRA_HOSTS": [f"u:{SECRET}@www.example.org"]}, "PORTAL_EXTRA_HOSTS"),
        ({"PORTAL_EXTRA_HOSTS": ["https://www.example.org/"]}, "PORTAL_EXTRA_HOSTS"),
    ],
)
def test_empty_portal_urls_and_credentials_are_refused_without_echoing_them(overrides, message):
    with pytest.raises(ConfigError, match=message) as refused:
        PortalConfig.from_settings(settings(**overrides))
    assert SECRET not in str(refused.value)


@pytest.mark.parametrize("host", ["www.example.org", "www.example.org:8080", "[::1]:8080"])
def test_extra_hosts_are_host_names(host):
    config = PortalConfig.from_settings(settings(PORTAL_EXTRA_HOSTS=[host.upper()]))
    assert host in config.urls.hosts


def test_a_file_uri_with_a_host_is_refused():
    with pytest.raises(ConfigError, match="names no host"):
        archive_root_uri("file://otherhost/tmp/x")


def test_local_file_uris_are_read_as_written(tmp_path):
    assert local_path(archive_root_uri(f"file://localhost{tmp_path}/x")) == tmp_path / "x"
    assert local_path(archive_root_uri(f"file://{tmp_path}/a%20b")) == tmp_path / "a b"


def test_the_lock_ttl_leaves_room_for_a_renewal():
    assert lock_ttl(settings()).total_seconds() == 120
    with pytest.raises(ConfigError, match="INCREMENTAL_LOCK_TTL"):
        lock_ttl(settings(INCREMENTAL_LOCK_TTL=0))


# -- whole runs ----------------------------------------------------------------


@pytest.fixture(scope="module")
def portal():
    with FixturePortal(build_site(seed=1), theme="classic") as served:
        yield served


def scrapy(workdir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``scrapy <args>`` (settings.mirror) in ``workdir``, output captured; fails if a
    warning was raised in it."""
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", *args],
        cwd=workdir,
        env={**scrapy_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    logs = "".join(path.read_text(encoding="utf-8") for path in workdir.glob("*.log"))
    assert_no_warning_raised(done.stdout + done.stderr + logs)
    return done


def refused_line(done: subprocess.CompletedProcess, command: str) -> str:
    """The one line a refused run prints."""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr[-3000:]
    assert lines[0].startswith(f"{command}: "), lines
    return lines[0]


CRAWL = ("crawl", "portal", "-s", "BROWSER_ENABLED=0", "-s", "LOG_FILE=crawl.log")


@pytest.mark.parametrize(
    "args,env,message",
    [
        (("-a", "portal_url="), {}, "PORTAL_URL is empty"),
        (("-s", "PORTAL_URL="), {}, "PORTAL_URL is empty"),
        ((), {"PORTAL_URL": ""}, "PORTAL_URL is empty"),
        (("-a", "portal_url={auth_url}"), {}, "PORTAL_URL: no user name or password"),
        ((), {"PORTAL_URL": "{auth_url}"}, "PORTAL_URL: no user name or password"),
        (("-a", "portal_url={url}", "-s", "CRAWL_ID=../../x"), {}, "CRAWL_ID"),
        (("-a", "portal_url={url}"), {"CRAWL_ID": "../../x"}, "CRAWL_ID"),
        (("-a", "portal_url={url}", "-s", "ARCHIVE_URI=file://otherhost/x"), {}, "names no host"),
        (
            ("-a", "portal_url={url}", "-s", f"PORTAL_EXTRA_HOSTS=u:{SECRET}@www.example.org"),
            {},
            "PORTAL_EXTRA_HOSTS",
        ),
    ],
    ids=[
        "empty-argument",
        "empty-setting",
        "empty-env",
        "credentials-argument",
        "credentials-env",
        "crawl-id-setting",
        "crawl-id-env",
        "file-uri-host",
        "extra-host-credentials",
    ],
)
def test_bad_configuration_is_refused_before_any_fetch(portal, tmp_path, args, env, message):
    workdir = tmp_path / "a" / "b"
    workdir.mkdir(parents=True)
    auth_url = portal.base_url.replace("http://", f"http://archiver:{SECRET}@")
    values = {"url": portal.base_url, "auth_url": auth_url}
    args = tuple(arg.format(**values) for arg in args)
    env = {name: value.format(**values) for name, value in env.items()}
    served = len(portal.request_log)
    done = scrapy(workdir, *CRAWL, *args, env=env)
    assert done.returncode == 3, done.stderr[-3000:]
    assert message in refused_line(done, "crawl")
    assert len(portal.request_log) == served  # nothing fetched
    log = (workdir / "crawl.log").read_text(encoding="utf-8")
    assert SECRET not in done.stderr + done.stdout + log
    # Nothing was written but the log: no spool, no archive, nothing outside ("../../x").
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "b", "crawl.log"]


@pytest.mark.parametrize(
    "setting,message",
    [
        ("ARCHIVE_URI=file://otherhost/x", "names no host"),
        (f"PORTAL_URL=https://u:{SECRET}@example.org/", "PORTAL_URL: no user name or password"),
        ("PORTAL_URL=", "PORTAL_URL is empty"),
    ],
)
def test_sync_refuses_the_same_configuration(tmp_path, setting, message):
    done = scrapy(tmp_path, "sync", "-s", setting, "-s", "LOG_FILE=sync.log")
    assert done.returncode == 3, done.stderr[-3000:]
    assert message in refused_line(done, "sync")
    assert SECRET not in done.stderr + done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sync.log"]


@pytest.fixture
def running_crawl(portal, tmp_path):
    """A crawl that runs long enough to look at (one request at a time, spaced); its
    remote-control job files would go to ``tmp_path/jobs``."""
    processes = []

    def start(*extra: str) -> subprocess.Popen:
        workdir = tmp_path / f"run-{len(processes)}"
        workdir.mkdir()
        command, env = crawl_command(
            portal.base_url,
            workdir,
            *extra,
            settings={
                "BROWSER_ENABLED": False,
                "CONCURRENT_REQUESTS": 1,
                "DOWNLOAD_DELAY": 0.1,
                "REMOTE_CONTROL_JOBS_DIR": tmp_path / "jobs",
                "WARC_SPOOL_DIR": tmp_path / "spool",
            },
        )
        served = len(portal.request_log)
        process = subprocess.Popen(command, cwd=workdir, env=env)
        processes.append(process)
        wait_for(lambda: len(portal.request_log) >= served + 10, "the crawl to get going")
        assert process.poll() is None, "the crawl ended too soon"
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=120)


def listening_ports(pid: int) -> set[int]:
    """TCP ports the process and its descendants listen on (from /proc)."""
    pids, sockets = [pid], set()
    while pids:
        current = pids.pop()
        proc = Path(f"/proc/{current}")
        for fd in (proc / "fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue  # closed meanwhile
            if target.startswith("socket:["):
                sockets.add(target[len("socket:[") : -1])
        for task in (proc / "task").iterdir():
            pids.extend(int(child) for child in (task / "children").read_text().split())
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in (Path(f"/proc/{pid}/net") / table).read_text().splitlines()[1:]:
            fields = line.split()
            # state 0A: LISTEN; field 9: the socket's inode
            if fields[3] == "0A" and fields[9] in sockets:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def test_nothing_listens_during_a_crawl(running_crawl, tmp_path):
    process = running_crawl()
    assert listening_ports(process.pid) == set()
    assert not (tmp_path / "jobs").exists()  # no token written anywhere we look


def test_remote_control_turned_on_is_announced_with_where_it_listens(running_crawl, tmp_path):
    process = running_crawl("-s", "REMOTE_CONTROL_ENABLED=True")
    ports = listening_ports(process.pid)
    assert len(ports) == 1
    log = (tmp_path / "run-0" / "test-crawl.log").read_text(encoding="utf-8")
    (port,) = ports
    assert f"WARNING: REMOTE_CONTROL_ENABLED is on: Scrapy's remote-control server listens on " \
        f"http://127.0.0.1:{port}/" in log  # fmt: skip
    assert str(tmp_path / "jobs") in log


def test_overlapping_runs_on_one_spool_exit_5(running_crawl, tmp_path):
    """A second crawl (of another portal, into another archive), or a sync, on the spool a
    running crawl holds: exit 5, not 3, and nothing fetched."""
    first = running_crawl()
    spool = f"WARC_SPOOL_DIR={tmp_path / 'spool'}"
    with FixturePortal(build_site(seed=2), theme="alt") as other:
        crawl = scrapy(
            tmp_path,
            *CRAWL,
            "-a",
            f"portal_url={other.base_url}",
            "-s",
            f"ARCHIVE_URI={tmp_path / 'other-archive'}",
            "-s",
            spool,
        )
        assert other.request_log == []
    sync = scrapy(tmp_path, "sync", "-s", spool, "-s", "LOG_FILE=sync.log")
    assert first.poll() is None
    assert crawl.returncode == 5, crawl.stderr[-3000:]
    assert sync.returncode == 5, sync.stderr[-3000:]
    for done, command in ((crawl, "crawl"), (sync, "sync")):
        line = refused_line(done, command)
        assert "is in use by another crawl or sync" in line
        assert f"(pid {first.pid} on " in line
