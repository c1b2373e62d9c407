# The archiver's image: the crawler, Chromium and pywb, run as a non-root user; what it runs
# with only (no test, lint or benchmark tools). docs/containers.md tells how to build and run
# it. CI builds it and runs `scrapy demo` in it (.ci/image); tests/test_deploy_files.py lints it.

# Python 3.11 (pyproject.toml's requires-python), pinned by tag and by the digest of the tag's
# multi-architecture index (amd64, arm64). The digest was taken from public build records: no
# registry is reachable from our machines, so CI builds on a local Debian bookworm instead
# (.ci/image). Move tag and digest together, e.g. to what
# `docker buildx imagetools inspect python:3.11.<patch>-slim-bookworm` prints.
FROM python:3.11.17-slim-bookworm@sha256:2333bd330d12de02514770b3585cad313644316047cdee24a7acfdece6de6efb

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Chromium from Debian, at /usr/bin/chromium, for browser rendering, and libatomic, which
# Playwright's driver needs (as scripts/setup installs them). Unpinned on purpose: see DL3008 in
# .hadolint.yaml.
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium libatomic1 \
    && rm -rf /var/lib/apt/lists/*

# The user the crawler runs as (numeric in USER below, so Kubernetes' runAsNonRoot can check it),
# and its working directory /data: the archive, the spool, items feeds.
RUN groupadd --gid 10001 archiver \
    && useradd --uid 10001 --gid archiver --create-home archiver \
    && install -d -o archiver -g archiver /data

# Dependencies before the source: this layer is rebuilt only when the set-up or a lock changes.
# The install steps are the README's, the runtime set only: `scripts/setup --runtime` makes
# .venv/ from requirements.lock and .venv-pywb/ (pywb, its own pins) from
# requirements-pywb.lock, here under /app.
WORKDIR /app
COPY scripts/setup scripts/setup
COPY requirements.lock requirements-pywb.lock ./
RUN scripts/setup --runtime

COPY scrapy.cfg ./
COPY settings/ settings/
COPY crawler/ crawler/
# The fixture portal, for `scrapy demo` (test and demo support, not part of the crawler).
COPY fixture_portal/ fixture_portal/
COPY docker/entrypoint /usr/local/bin/archiver-entrypoint

# The project is found through its settings module, from any working directory.
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONPATH=/app \
    SCRAPY_SETTINGS_MODULE=settings.default \
    ARCHIVE_URI=/data/archive

USER 10001:10001
WORKDIR /data
VOLUME ["/data"]

# `docker run IMAGE crawl portal` runs `scrapy crawl portal`; a leading `scrapy` (or
# `.venv/bin/scrapy`, as the README writes it) is accepted too. Scrapy's exit status is the
# container's.
ENTRYPOINT ["archiver-entrypoint"]
CMD ["crawl", "portal"]
