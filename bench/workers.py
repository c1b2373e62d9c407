"""One crawl by 1 worker against the same crawl by 2 workers, on the nginx-served portal.

    .venv/bin/python bench/workers.py [--articles 2000] [--repeat 2] [--workers 2] [--apart]
        [--set NAME=VALUE]

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
of each kind is reported, with the ratio of pages/s. ``--timeline`` prints each run second by
second: the shared frontier (and how often it was empty), the requests in flight, the shared
politeness slots taken, the pages nginx answered and each worker's CPU. The ceiling printed
is what one worker's run kept busy of the machine (its crawl, its WARC writer, nginx, Redis)
set against the machine's cores. ``--apart`` also
runs, alternated with the others, ``--workers`` whole crawls of their own at once (own crawl
id, archive and pace): they share nothing but the machine, so their pages/s is what that
many workers could reach here if sharing one crawl cost nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
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
    try:
        family = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0.0  # ended meanwhile
    for each in family:
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
    sample: bool = False,
    apart: bool = False,
) -> dict:
    """``workers`` workers of one crawl; ``apart``: as many whole crawls of their own at once
    (own crawl id, archive and pace), which share nothing but the machine."""
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
        own = {"CRAWL_ID": f"{name}-{number}", "ARCHIVE_URI": archive / str(number)}
        for key, value in {**settings, **(own if apart else {})}.items():
            command += ["-s", f"{key}={json.dumps(value) if isinstance(value, list) else value}"]
        processes.append((usage, subprocess.Popen(command, cwd=workdir / name, env=env)))
    sampler = None
    if sample:
        watched = [psutil.Process(process.pid) for _, process in processes]
        sampler = FrontierSampler(redis_url, started, site.access_log, log_start, watched)
        sampler.start()
    codes = [process.wait() for _, process in processes]
    seconds = time.perf_counter() - started
    if sampler is not None:
        sampler.stop()
    pages, _ = served_pages(site.access_log, log_start)
    usages = [json.loads(usage.read_text()) for usage, _ in processes]
    return {
        "workers": workers,
        "exit": codes,
        "pages": pages,
        "seconds": seconds,
        "rate": pages / seconds,
        "worker_cpu": sum(usage["cpu_seconds"] for usage in usages),
        "crawler_cpu": sum(usage["crawler_cpu_seconds"] for usage in usages),
        "nginx_cpu": cpu_seconds(nginx) - nginx_cpu,
        "redis_cpu": cpu_seconds(server) - redis_cpu,
        "samples": sampler.samples if sampler is not None else [],
    }


class FrontierSampler(threading.Thread):
    """Every SAMPLE_EVERY seconds of a run: the shared frontier's length, the requests the
    workers hold in flight, the pages nginx answered and each worker's CPU seconds so far."""

    SAMPLE_EVERY = 0.1

    def __init__(self, redis_url, started, access_log, log_start, workers):
        super().__init__(daemon=True)
        self.client = redis_py.Redis.from_url(redis_url)
        self.started = started
        self.access_log, self.log_offset, self.pages = access_log, log_start, 0
        self.workers = workers
        self.samples: list[tuple] = []
        self._ended = threading.Event()

    def _served(self) -> int:
        with open(self.access_log, "rb") as log:
            log.seek(self.log_offset)
            data = log.read()
        complete = data.rfind(b"\n") + 1
        self.log_offset += complete
        self.pages += data[:complete].count(b"\n")
        return self.pages

    def run(self) -> None:
        while not self._ended.wait(self.SAMPLE_EVERY):
            frontier = inflight = leases = 0
            for key in self.client.scan_iter(count=1000):
                if key.endswith(b":requests"):
                    frontier += self.client.zcard(key)
                elif b":inflight:" in key:
                    inflight += self.client.hlen(key)
                elif key.endswith(b":leases"):
                    leases += self.client.zcard(key)
            cpu = tuple(cpu_seconds(worker) for worker in self.workers)
            at = time.perf_counter() - self.started
            self.samples.append((at, frontier, inflight, self._served(), cpu, leases))

    def stop(self) -> None:
        self._ended.set()
        self.join()


def timeline(row: dict, every: float = 1.0) -> str:
    """The samples of a run, a line a second: the time; the frontier and the requests in
    flight at its end, and the share of its samples with the frontier empty; the pages
    nginx answered in it; each worker's CPU use in it (1.00: a whole core)."""
    lines, bucket, last = [], [], (0.0, 0, 0, 0, (0.0,) * len(row["exit"]), 0)
    for sample in row["samples"]:
        bucket.append(sample)
        if sample[0] < (len(lines) + 1) * every:
            continue
        at, frontier, inflight, pages, cpu, leases = sample
        empty = sum(1 for each in bucket if each[1] == 0) / len(bucket)
        cores = " ".join(
            f"{(now - then) / (at - last[0]):.2f}" if now >= then else "ended"
            for now, then in zip(cpu, last[4], strict=True)
        )
        lines.append(
            f"  {at:5.1f}s frontier {frontier:5d} ({100 * empty:3.0f}% empty) in flight "
            f"{inflight:4d} turns {leases:3d} pages {pages - last[3]:4d} cores {cores}"
        )
        bucket, last = [], sample
    return "\n".join(lines)


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


def machine_ceiling(one: dict, workers: int) -> str:
    """What one worker's run kept busy of the machine, and so the most ``workers`` workers
    could reach on it: every core as busy, each page costing what it cost one worker."""
    cores = len(os.sched_getaffinity(0))
    seconds = one["seconds"]
    crawl, writer = one["crawler_cpu"], one["worker_cpu"] - one["crawler_cpu"]
    busy = (one["worker_cpu"] + one["nginx_cpu"] + one["redis_cpu"]) / seconds
    return (
        f"1 worker kept {busy:.2f} of the {cores} cores busy (its crawl process "
        f"{crawl / seconds:.2f}, its WARC writer {writer / seconds:.2f}, nginx "
        f"{one['nginx_cpu'] / seconds:.2f}, Redis {one['redis_cpu'] / seconds:.2f}): "
        f"{workers} workers can reach at most {min(workers, cores / busy):.2f}x here, with no "
        f"CPU at all spent on sharing one crawl"
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
    parser.add_argument(
        "--apart",
        action="store_true",
        help="also run --workers whole crawls of their own at once, sharing nothing but the "
        "machine: the most that many workers could give here",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for every run, as scrapy's -s (e.g. CONCURRENT_REQUESTS_PER_DOMAIN=128)",
    )
    parser.add_argument(
        "--timeline",
        action="store_true",
        help="print each run's shared frontier and requests in flight, second by second",
    )
    args = parser.parse_args()
    extra = dict(setting.split("=", 1) for setting in args.set)
    if args.unshared_politeness:
        extra["POLITENESS_REDIS_URL"] = ""

    site_model = build_site(seed=7, n_articles=args.articles)
    with (
        tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp,
        NginxSite(site_model, theme=args.theme, access_log=True) as site,
        RedisServer() as redis,
    ):
        workdir = Path(tmp)

        def measure(name: str, workers: int, apart: bool = False) -> dict:
            more = {**extra, "POLITENESS_REDIS_URL": ""} if apart else extra
            return run(
                name, workers, site, redis.url, workdir, args.profile, more, args.timeline, apart
            )

        measure("warmup", 1)
        rows: dict[str, list[dict]] = {"one": [], "many": []}
        if args.apart:
            rows["apart"] = []
        for attempt in range(args.repeat):
            rows["one"].append(measure(f"one-{attempt}", 1))
            rows["many"].append(measure(f"many-{attempt}", args.workers))
            if args.apart:
                rows["apart"].append(measure(f"apart-{attempt}", args.workers, apart=True))
        all_runs = [(f"{kind}-{n}", row) for kind in rows for n, row in enumerate(rows[kind])]
        table(all_runs)
        if args.timeline:
            for name, row in all_runs:
                print(f"\n{name}:\n{timeline(row)}")
        one = max(rows["one"], key=lambda row: row["rate"])
        many = max(rows["many"], key=lambda row: row["rate"])
        print(
            f"\n{args.workers} workers / 1 worker, pages/s (fastest of each): "
            f"{many['rate'] / one['rate']:.2f}x  ({many['rate']:.1f} / {one['rate']:.1f}); "
            f"CPU per page: {1000 * one['worker_cpu'] / one['pages']:.1f} ms (1 worker), "
            f"{1000 * many['worker_cpu'] / many['pages']:.1f} ms ({args.workers} workers)"
        )
        print(machine_ceiling(one, args.workers))
        if args.apart:
            apart = max(rows["apart"], key=lambda row: row["rate"])
            print(
                f"{args.workers} crawls apart / 1 worker, pages/s: "
                f"{apart['rate'] / one['rate']:.2f}x  ({apart['rate']:.1f} / {one['rate']:.1f}); "
                f"CPU per page {1000 * apart['worker_cpu'] / apart['pages']:.1f} ms: what "
                f"{args.workers} workers would give here if sharing cost nothing"
            )


if __name__ == "__main__":
    main()
