# First version: installs and runs the crawler. Hardening (Chromium, pinned
# digest, hadolint in CI) comes with the container issue.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Dependencies first: this layer is rebuilt only when the lock changes.
COPY requirements.lock .
RUN pip install --requirement requirements.lock

COPY scrapy.cfg ./
COPY settings/ settings/
COPY crawler/ crawler/

RUN useradd --create-home --uid 10001 archiver \
    && mkdir /data && chown archiver /data
USER archiver
WORKDIR /data
# The project is found through its settings module, from any working directory.
ENV PYTHONPATH=/app \
    SCRAPY_SETTINGS_MODULE=settings.default \
    ARCHIVE_URI=/data/archive

ENTRYPOINT ["scrapy"]
CMD ["crawl", "portal"]
