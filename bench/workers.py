"""One crawl by 1 worker against the same crawl by 2 workers, on the nginx-served portal.

    .venv/bin/python bench/workers.py [--articles 2000] [--repeat 2] [--workers 2]

Serves a generated portal (``--articles``) with Debian's nginx (bench/nginx_site.py), starts
a Redis (tests/redis_server.py), then in the same invocation, after a warm-up crawl (the
server's page cache), alternates ``--repeat`` times: one worker; ``--workers`` workers started
at once as one crawl (same ``CRAWL_ID``, ``ARCHIVE_URI`` and Redis). Every run is a full crawl
with the distributed profile and the mirror profile's pace (``settings.distributed`` plus what
``settings/mirror.py`` changes, given as ``-s``), the HTTP path only (no browser), into a fresh
archive root, Redis emptied between runs.

Pages are what nginx answered (its access log: the server's count, whatever the workers'
stats say); wall time from the first start to the last worker's exit; CPU seconds of the
workers (each with its WARC writer, bench/measured.py), of nginx and of Redis. The fastest run
of each kind is reported, with the ratio of pages/s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import redis as redis_py

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import settings.default as default_settings  # noqa: E402
import settings.mirror as mirror_settings  # noqa: E402
from bench.common import REPO  # noqa: E402
from bench.nginx_site import NginxSite  # noqa: E402
from fixture_portal import build_site  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402


def mirror_overrides() -> dict:
    """What the mirror profile changes from the defaults, as settings to give with ``-s``."""
    return {
        name: getattr(mirror_settings, name)
        for name in dir(mirror_settings)
        if name.isupper()
        and getattr(mirror_settings, name) != getattr(default_settings, name, object())
    }


def cpu_seconds(process: psutil.Process) -> float:
    """CPU of a process and its children, now."""
    total = 0.0
    for each in [process, *process.children(recursive=True)]:
        try:
            times = each.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass  # ended meanwhile
    return total


def served_pages(access_log: Path, start: int) -> tuple[int, int]:
    """Requests nginx logged from byte ``start`` of its access log; the log's size now."""
    data = access_log.read_bytes()
    return data[start:].count(b"\n"), len(data)


def run(
    name: str,
    workers: int,
    site: NginxSite,
    redis_url: str,
    workdir: Path,
    profile: str,
    extra: dict,
) -> dict:
    redis_py.Redis.from_url(redis_url).flushall()
    archive = workdir / name / "archive"
    env = {
        **os.environ,
        "SCRAPY_SETTINGS_MODULE": profile,
        "PYTHONPATH": str(REPO),
        "REDIS_URL": redis_url,
        "POLITENESS_REDIS_URL": redis_url,
    }
    settings = {
        **mirror_overrides(),
        "BROWSER_ENABLED": False,
        "ARCHIVE_URI": archive,
        "CRAWL_ID": name,
        "LOG_LEVEL": "WARNING",
        **extra,
    }
    nginx = psutil.Process(site.process.pid)
    server = psutil.Process(redis_server_pid(redis_url))
    nginx_cpu, redis_cpu = cpu_seconds(nginx), cpu_seconds(server)
    _, log_start = served_pages(site.access_log, 0)
    processes = []
    started = time.perf_counter()
    for number in range(workers):
        usage = workdir / name / f"worker-{number}.usage.json"
        usage.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, str(REPO / "bench" / "measured.py"), str(usage),
                   "crawl", "portal", "-a", f"portal_url={site.base_url}",
                   "-s", f"LOG_FILE={workdir / name / f'worker-{number}.log'}"]  # fmt: skip
        for key, value in settings.items():
            command += ["-s", f"{key}={json.dumps(value) if isinstance(value, list) else value}"]
        processes.append((usage, subprocess.Popen(command, cwd=workdir / name, env=env)))
    codes = [process.wait() for _, process in processes]
    seconds = time.perf_counter() - started
    pages, _ = served_pages(site.access_log, log_start)
    worker_cpu = sum(json.loads(usage.read_text())["cpu_seconds"] for usage, _ in processes)
    return {
        "workers": workers,
        "exit": codes,
        "pages": pages,
        "seconds": seconds,
        "rate": pages / seconds,
        "worker_cpu": worker_cpu,
        "nginx_cpu": cpu_seconds(nginx) - nginx_cpu,
        "redis_cpu": cpu_seconds(server) - redis_cpu,
    }


def redis_server_pid(url: str) -> int:
    return int(redis_py.Redis.from_url(url).info("server")["process_id"])


def table(rows: list[tuple[str, dict]]) -> None:
    print(
        f"{'run':<10}{'workers':>8}{'pages':>7}{'wall s':>8}{'pages/s':>9}"
        f"{'worker cpu s':>13}{'nginx cpu s':>12}{'redis cpu s':>12}  exit"
    )
    for name, row in rows:
        print(
            f"{name:<10}{row['workers']:>8}{row['pages']:>7}{row['seconds']:>8.1f}"
            f"{row['rate']:>9.1f}{row['worker_cpu']:>13.1f}{row['nginx_cpu']:>12.1f}"
            f"{row['redis_cpu']:>12.1f}  {row['exit']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--theme", default="classic", choices=("classic", "alt"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2, help="measured runs of each kind")
    parser.add_argument("--profile", default="settings.distributed")
    parser.add_argument(
        "--unshared-politeness",
        action="store_true",
        help="each worker keeps its own pace (POLITENESS_REDIS_URL empty): the cost of sharing",
    )
    args = parser.parse_args()
    extra = {"POLITENESS_REDIS_URL": ""} if args.unshared_politeness else {}

    site_model = build_site(seed=7, n_articles=args.articles)
    with (
        tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp,
        NginxSite(site_model, theme=args.theme, access_log=True) as site,
        RedisServer() as redis,
    ):
        workdir = Path(tmp)

        def measure(name: str, workers: int) -> dict:
            return run(name, workers, site, redis.url, workdir, args.profile, extra)

        measure("warmup", 1)
        rows: dict[str, list[dict]] = {"one": [], "many": []}
        for attempt in range(args.repeat):
            rows["one"].append(measure(f"one-{attempt}", 1))
            rows["many"].append(measure(f"many-{attempt}", args.workers))
        all_runs = [(f"{kind}-{n}", row) for kind in rows for n, row in enumerate(rows[kind])]
        table(all_runs)
        one = max(rows["one"], key=lambda row: row["rate"])
        many = max(rows["many"], key=lambda row: row["rate"])
        print(
            f"\n{args.workers} workers / 1 worker, pages/s (fastest of each): "
            f"{many['rate'] / one['rate']:.2f}x  ({many['rate']:.1f} / {one['rate']:.1f}); "
            f"CPU per page: {1000 * one['worker_cpu'] / one['pages']:.1f} ms (1 worker), "
            f"{1000 * many['worker_cpu'] / many['pages']:.1f} ms ({args.workers} workers)"
        )


if __name__ == "__main__":
    main()
