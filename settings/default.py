"""Default settings: every setting the archiver defines, polite for the real portal.

This is the one place defaults live; components read them through typed
config objects (``crawler/config.py``). Environment variables are read here
and nowhere else.
"""

import os

from crawler import __version__

# --- Scrapy project -------------------------------------------------------
BOT_NAME = "haiphong-archiver"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"
# The one wiring point: puts our middlewares, extensions and pipelines in place.
ADDONS = {"crawler.addon.ArchiverAddon": 0}
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
# One JSON object per log line (time, level, logger, message, extras) for container log
# collectors, instead of Scrapy's text lines (env ARCHIVER_LOG_JSON=1).
LOG_JSON = os.environ.get("ARCHIVER_LOG_JSON", "0").lower() in ("1", "true", "yes")
# Scrapy's text handler is off when JSON is on (here too, so no early line comes out as text).
LOG_ENABLED = not LOG_JSON
# A progress line (pages, items, WARC bytes, rate) every this many seconds; 0: none. It
# replaces Scrapy's own periodic line.
PROGRESS_INTERVAL = float(os.environ.get("ARCHIVER_PROGRESS_INTERVAL", "60"))
LOGSTATS_INTERVAL = 0
FEED_EXPORT_ENCODING = "utf-8"
# Scrapy's check for `return value` in generator callbacks reads and parses the callback's
# source again and again (its cache is keyed by bound methods, which die at once): 3-5 % of
# a crawl's thread. Our callbacks never return a value.
WARN_ON_GENERATOR_RETURN_VALUE = False

# --- Politeness (the real portal) ---------------------------------------
# Where a site operator can reach whoever runs this crawler; override it.
CONTACT_URL = os.environ.get(
    "ARCHIVER_CONTACT_URL", "https://github.com/haiphong-archiver/haiphong-archiver"
)
USER_AGENT = f"HaiPhongPortalArchiver/{__version__} (web archiving; +{CONTACT_URL})"
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_DELAY = 1.0
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_TIMEOUT = 60
# Retries (crawler/politeness/retry.py, in place of Scrapy's RetryMiddleware): a failed
# fetch or one of these answers is tried again RETRY_TIMES times at most, each time after
# a wait, never at once; meanwhile the retry is out of the downloader's way.
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# The wait before retry n: RETRY_BACKOFF_BASE * 2**(n-1) seconds, at most RETRY_BACKOFF_MAX,
# of which a random half is kept (jitter: failures that came together do not return together).
RETRY_BACKOFF_BASE = 2.0
RETRY_BACKOFF_MAX = 60.0
# An answer's Retry-After (seconds or an HTTP date) is waited out up to this many seconds.
# Rate limiters ask for seconds to a few minutes; an answer asking for longer (maintenance,
# a block) is not retried in this crawl: counted as limits/retry_after_capped, it reaches
# the spider as the HTTP error it is, and the next run fetches the page.
RETRY_AFTER_MAX = 300.0
# Answers that say a site is overloaded slow the whole site down (crawler/politeness/
# backoff.py): the delay between its requests doubles on each, from BACKOFF_START_DELAY up
# to BACKOFF_MAX_DELAY (at once to a Retry-After, within that bound), and halves on each
# normal answer until it is back to DOWNLOAD_DELAY. Meanwhile one request at a time.
BACKOFF_ENABLED = True
BACKOFF_STATUSES = [429, 503]
BACKOFF_START_DELAY = 2.0
# AutoThrottle's bound too: it never sets a longer delay than AUTOTHROTTLE_MAX_DELAY.
BACKOFF_MAX_DELAY = 30.0
# Politeness per portal, not per process (crawler/politeness/shared.py): with a Redis URL
# here (env POLITENESS_REDIS_URL; empty in a distributed crawl: its REDIS_URL), every worker
# takes its turn from Redis, so that all of them together keep to the pace above, as one
# process would: DOWNLOAD_DELAY between two requests to a site, CONCURRENT_REQUESTS_PER_DOMAIN
# requests at once, AutoThrottle's delay (computed from every worker's answers) and the
# slowing down on 429/503 and Retry-After that any worker meets. Empty and not distributed:
# each process keeps its own pace (one process: the same thing). While Redis does not answer,
# nothing is sent to the site: the worker logs it and asks again every POLITENESS_REDIS_RETRY
# seconds.
POLITENESS_REDIS_URL = os.environ.get("POLITENESS_REDIS_URL", "")
# Prefix of the keys, per site: <prefix>:{<host>}:next, :leases, :throttle, :backoff.
POLITENESS_REDIS_PREFIX = "politeness"
# A request's slot comes back this long after it was taken (seconds, more than
# DOWNLOAD_TIMEOUT), even when its worker died without giving it back.
POLITENESS_LEASE_TTL = 120.0
# Seconds between two asks for a slot while all of a site's slots are taken.
POLITENESS_POLL_INTERVAL = 0.2
POLITENESS_REDIS_RETRY = 5.0
# A site's shared delays are forgotten this long after the last request to it (seconds).
POLITENESS_STATE_TTL = 86400.0
REDIRECT_MAX_TIMES = 10
# A news page is never this large; bigger responses are cut off, not archived half.
DOWNLOAD_MAXSIZE = 64 * 1024 * 1024
DOWNLOAD_WARNSIZE = 16 * 1024 * 1024
COOKIES_ENABLED = False
# Outputs of one page processed in parallel. A page gives one item and a few
# requests, and Scrapy starts this many asyncio workers for every response:
# the default 100 costs more than the pipelines themselves.
CONCURRENT_ITEMS = 4
TELNETCONSOLE_ENABLED = False
# Scrapy's remote control: an HTTP server on 127.0.0.1 that runs any Python sent to it with
# the token it writes to a file in the user's profile; any process sharing the loopback (any
# container of a pod) can reach the port. The crawl does not need it: off. Turned on, the
# crawl logs a warning saying where it listens.
REMOTE_CONTROL_ENABLED = False

# --- Bounds: what one crawl takes at most --------------------------------------
# Each bound reached is counted (limits/<name>), logged and shown in the crawl report; article
# links left unrequested by a bound are handed on for a later run (PortalSpider._over_limit).
# A full crawl of the portal (~30,000 articles, ~10 sections, their listing pages and
# images: about 100,000 responses, more than a day at the polite rate) fits them all.
# Size: DOWNLOAD_MAXSIZE (above) binds a response as received and as decompressed: Scrapy
# cancels a download past it (pages/dropped/too_large) and drops a body that inflates past it
# (pages/dropped/decompressed_too_large, the WARC keeping the bytes as received); indexing
# never inflates a body at all.
# Article links taken from one page (a listing, the home page, an article's "Tin khác"), in
# page order; a real page has tens (limits/links_per_page: links left).
PORTAL_MAX_LINKS_PER_PAGE = 500
# Hops along "Tin khác" links from an article found on a listing, the home page or a seed
# (depth 0); links from an article this deep are left (limits/related_depth: links left).
# Requests are ordered by depth (deeper later, past 10 after listing pages), so an endless
# chain only runs when everything shallower is done; articles reached only through "Tin
# khác" sit a few hops from a listed one.
PORTAL_MAX_RELATED_DEPTH = 30
# A section's listing walk stops after this many pages in a row that list no article not
# already listed earlier in the same walk (a paginator that wraps around, a calendar):
# limits/stale_listing. A real listing brings new articles on every page.
PORTAL_MAX_STALE_LISTING_PAGES = 5
# Responses per crawl (Scrapy's CloseSpider; 0: no limit): about twice a full crawl of the
# portal. The crawl stops cleanly (finish reason closespider_pagecount, limits/crawl_pages).
CLOSESPIDER_PAGECOUNT = 200_000
# Seconds per crawl (0: no limit): a nightly run that is still going stops after 23 hours,
# stored and reported (closespider_timeout, limits/crawl_time), before the next night's run
# and well inside the CronJob's activeDeadlineSeconds (two days).
CLOSESPIDER_TIMEOUT = 23 * 3600

# --- Crawl run --------------------------------------------------------------
# Identifier of this run; empty: generated as <UTC yyyymmddhhmmss>-<6 hex>.
CRAWL_ID = os.environ.get("CRAWL_ID", "")
# Where everything goes (WARCs, indexes, items, manifests, WACZ, state), laid out as
# warcs/<crawl_id>/, indexes/<crawl_id>/, items/<crawl_id>.jsonl.gz, crawls/<crawl_id>/,
# wacz/<crawl_id>.wacz, state/: a path or file:///path (default ./archive), or
# s3://bucket/prefix.
ARCHIVE_URI = os.environ.get("ARCHIVE_URI", "archive")

# --- S3 archive store ---------------------------------------------------------
# Credentials, endpoint and region: Scrapy's AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
# AWS_SESSION_TOKEN, AWS_ENDPOINT_URL, AWS_REGION_NAME and AWS_VERIFY when set, otherwise
# boto3's own chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_PROFILE /
# AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL / AWS_DEFAULT_REGION in the environment, ~/.aws,
# instance roles), which boto3 reads itself: they are deliberately not read here.
# Files at least this big go up in parts of ARCHIVE_S3_MULTIPART_CHUNKSIZE (>= 5 MiB).
ARCHIVE_S3_MULTIPART_THRESHOLD = 64 * 1024**2
ARCHIVE_S3_MULTIPART_CHUNKSIZE = 16 * 1024**2
# Parts of one file in flight at once.
ARCHIVE_S3_MAX_CONCURRENCY = 4
# Attempts per S3 request (botocore "standard" retries: exponential backoff with jitter),
# and seconds to connect and to wait for each answer. A store that does not answer (a
# timeout, a refused connection) is given one attempt per request until it answers again.
# So a store that hangs costs about 35 s for the first operation (3 x 10 s + backoff) and
# 10 s for each after: a crawl's start and its end each stay well inside the 300 s
# termination grace period of deploy/k8s (docs/storage.md).
ARCHIVE_S3_MAX_ATTEMPTS = 3
ARCHIVE_S3_CONNECT_TIMEOUT = 5.0
ARCHIVE_S3_READ_TIMEOUT = 10.0
# "path" or "virtual" bucket addressing; empty: botocore's choice (or the AWS config file's).
ARCHIVE_S3_ADDRESSING_STYLE = ""
# Files (WARCs with their indexes, WACZ, items) stored at once, each in a thread of its own:
# the crawl never waits on the store.
ARCHIVE_UPLOAD_CONCURRENCY = 2

# --- WARC archive -------------------------------------------------------------
# Archive every HTTP exchange (requests, responses, page metadata) as WARC.
WARC_ENABLED = True
# A WARC file is closed and a new one started past this size (bytes).
WARC_MAX_SIZE = 1024**3
# First part of WARC file names: <prefix>-<yyyymmddhhmmss>-<serial>-<host>-<pid>.warc.gz
WARC_PREFIX = "haiphong"
# Local directory where a crawl's files are written (<spool>/<crawl_id>/) and kept until
# they are stored and verified in the archive root; leftovers of a crashed run, or of a
# run that lost its store, are repaired and stored first by the next run (or `scrapy sync`).
WARC_SPOOL_DIR = os.environ.get("WARC_SPOOL_DIR", "spool")

# --- Browser rendering (scrapy-playwright) --------------------------------
# Render the pages that need JavaScript in Chromium: those marked below and, automatically,
# articles whose static HTML lacks the "Tin khác" list while carrying scripts to build it.
# Everything else stays on the plain HTTP path. Off: no browser is ever started.
BROWSER_ENABLED = True
# Chromium to drive; when it is missing, Playwright's own build is used if installed.
BROWSER_EXECUTABLE = "/usr/bin/chromium"
# Headless, as root in a container; without the background-networking flags Chromium
# opens connections of its own (updates, field trials) that sandboxes refuse.
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Pages open at once, all in one reused browser context.
BROWSER_MAX_PAGES = 4
# Seconds a page may take to load (navigation), and at most to settle afterwards
# (its scripts' requests, lazy images, "load more" clicks).
BROWSER_NAVIGATION_TIMEOUT = 30
BROWSER_SETTLE_TIMEOUT = 20
# A page has settled when no request of it has been in flight for this many seconds.
BROWSER_IDLE_TIME = 0.5
# Regular expressions (searched in the URL) of pages always rendered.
BROWSER_RENDER_URLS = []
# Section slugs whose listing pages (and the articles found there) are always rendered.
BROWSER_RENDER_SECTIONS = []
# Render articles whose static HTML lacks its "Tin khác" list but has scripts.
BROWSER_RENDER_AUTO = True
# Buttons or links that load more of a listing, clicked until they are gone.
BROWSER_LOAD_MORE_TEXTS = ["Xem thêm", "Tải thêm"]
BROWSER_MAX_LOAD_MORE = 50
# Also archive a full-page PNG screenshot of every rendered page (a WARC resource record).
BROWSER_SCREENSHOT = False

# --- Incremental crawls ----------------------------------------------------
# Remember what was archived (state/ in the archive store) and, when an earlier crawl left
# state, fetch only what is new or changed (crawler/incremental/crawl.py).
INCREMENTAL_ENABLED = True
# Fetch everything even though state exists (env ARCHIVER_FULL_CRAWL=1): versions are still
# numbered, and payloads already archived are written as revisit records.
INCREMENTAL_FULL = os.environ.get("ARCHIVER_FULL_CRAWL", "0").lower() in ("1", "true", "yes")
# The state lock expires this long after its last renewal (seconds); a running crawl renews
# it every third of that. A crawl that finds it held by another does not start (exit 5),
# unless the holder is gone: a process of this host that has ended, or one that held this
# run's spool, is taken over at once; a lock from elsewhere that expires within this time is
# watched until it expires (taken over) or is renewed (exit 5). Short, so that a killed pod
# delays the next one by two minutes at most.
INCREMENTAL_LOCK_TTL = 120
# A page that answers badly (an error status, an empty or unreadable page, no article in
# it) is fetched again by the next runs, up to this many runs in all; then it is given up
# (reported) until the portal says it changed. Network failures and "come back later"
# statuses count no try.
INCREMENTAL_MAX_TRIES = 3

# --- Items ------------------------------------------------------------------
# Also export items to <archive root>/items/<crawl_id>.jsonl.gz (besides any -O/-o feed).
ITEMS_FEED_ENABLED = True

# --- The portal (configuration, not code) ---------------------------------
PORTAL_URL = os.environ.get("PORTAL_URL", "https://thanhphohaiphong.gov.vn/")
# More host[:port] names of the same portal (e.g. "www.thanhphohaiphong.gov.vn").
PORTAL_EXTRA_HOSTS = []
# Section listing URLs to walk; empty: discover them from the home page menu.
PORTAL_SECTIONS = []
# Path of an article URL (WordPress permalinks "/<slug>.html").
PORTAL_ARTICLE_PATH = r"^/[^/]+\.html?$"
# Trap guard: listing pages walked per section at most (limits/listing_pages). A section of the
# real portal has hundreds; traps are stopped sooner by PORTAL_MAX_STALE_LISTING_PAGES.
PORTAL_MAX_LISTING_PAGES = 2000
# Follow every in-scope "Tin khác" link (some articles are reachable only so).
PORTAL_FOLLOW_RELATED = True
# Fetch (and so archive) the in-scope images of every article, for replay.
PORTAL_FETCH_IMAGES = True
# Also start from the article URLs of WordPress's sitemap (wp-sitemap.xml) and of its feed
# (feed/), besides the listings: each article is fetched once, whoever found it first
# (seeds/sitemap_articles, seeds/feed_articles).
PORTAL_SEED_SITEMAP = False
PORTAL_SEED_FEEDS = False
# Query parameters that only track clicks; a trailing "_" matches a prefix.
PORTAL_TRACKING_PARAMS = [
    "utm_",
    "fbclid",
    "gclid",
    "dclid",
    "msclkid",
    "zarsrc",
    "_ga",
    "mc_cid",
    "mc_eid",
    "igshid",
    "share",
    "replytocom",
]
# Time zone of dates shown without an offset.
PORTAL_TIMEZONE = "Asia/Ho_Chi_Minh"
# Text that begins the page furniture after the article body.
PORTAL_CONTENT_END_MARKERS = ["Tiện ích thông tin", "Tin khác", "Tin liên quan", "Chia sẻ bài viết"]
# Headings of the related-articles list.
PORTAL_RELATED_HEADINGS = ["Tin khác", "Các tin khác", "Tin liên quan", "Tin cùng chuyên mục"]
# Labels of the source line that may follow the author ("Nguồn. haiphong.gov.vn").
PORTAL_SOURCE_PREFIXES = ["Nguồn"]
# Link text of the header line's link to the original source.
PORTAL_ORIGINAL_LINK_TEXTS = ["Gốc"]
# Paragraphs removed from the body wherever they appear (regular expressions).
PORTAL_FURNITURE_PATTERNS = [
    r"^QR CODE:",
    r"^(Tiện ích thông tin|Nguồn tin|QR Code|QR Code Fanpage|Chúng tôi trên Mạng Xã hội)$",
    r"^Mã QR Code truy cập",
]
# Optional CSS selectors for this portal, used before the generic cues:
# title, content, sapo, author, related, section, menu.
PORTAL_SELECTORS = {}

# --- Distributed crawl (settings/distributed.py, docs/distributed.md) -----------------
# One crawl across many worker processes, coordinated through Redis (scrapy-redis): on in
# the distributed profile only. Off: a single process, nothing of this is used.
DISTRIBUTED_ENABLED = False
# The crawl's Redis (redis://host:port/db, rediss://…, unix:///path), from the environment;
# the distributed profile refuses to start without one (exit status 3). Keys are
# archiver:<portal host>:<crawl_id>:… and go when the crawl is finished.
REDIS_URL = os.environ.get("REDIS_URL", "")
# First part of this worker's name (default: the host name); the add-on appends the pid and
# a random part, so no two workers share a name, a spool or WARC file names.
DISTRIBUTED_WORKER_ID = os.environ.get("DISTRIBUTED_WORKER_ID", "")
# Seconds a worker's lease lives unless renewed (every third of it): that long after a
# worker died, the others put back the requests it had taken and the crawl can finish.
DISTRIBUTED_LEASE_TTL = 15.0
# Seconds a worker waits for Redis to answer again before it stops (finish reason
# redis_lost, exit status 6) with its files stored.
DISTRIBUTED_REDIS_WAIT = 60.0

# --- What a crawl stores (issue 13: every byte once) -------------------------
# By default a crawl stores its WARCs, their CDXJ indexes, its items and its manifest, each
# byte once. `scrapy wacz <crawl_id>` packs a stored crawl into a WACZ when one is wanted
# (ReplayWeb.page, a hand-over). On: the crawl packs and stores its WACZ at its end as well
# (its WARCs a second time, inside the WACZ).
WACZ_ENABLED = False
# The WACZ's pages list carries each article's text (sapo and body) for ReplayWeb.page's
# full-text search: the items' text a second time. `scrapy wacz --text` asks it for one WACZ.
WACZ_PAGE_TEXT = False
# gzip level (1-9) of the crawl's items feed, compressed in a thread beside the crawl's own.
# Measured (bench/compression_levels.py): level 6 is within 1% of level 9's size for 70% of
# its CPU; level 1 is 1.5 times the size.
ITEMS_FEED_GZIP_LEVEL = 6
