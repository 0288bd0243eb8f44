"""Every setting of qq-archiver, with its live default. Override any with `-s NAME=VALUE` (`scrapy crawl
qq`, `archiver fetch`, `archiver run`); tests point a whole crawl at a local server that way alone."""

BOT_NAME = "archiver"
SPIDER_MODULES = ["archiver.spiders"]
NEWSPIDER_MODULE = "archiver.spiders"
COMMANDS_MODULE = "archiver.commands"  # our `scrapy crawl` exits non-zero when a run failed (Scrapy's always exits 0)

# --- Where the archive goes -----------------------------------------------------------------
ARCHIVE_DIR = "output"  # a Hugo content folder: files land in <ARCHIVE_DIR>/zh-CN/news/qq/<id>.zh-CN.md

# --- The site ----------------------------------------------------------------------------------
QQ_FEED_URL = "https://i.news.qq.com/web_feed/getPCList"  # the channel feed (`-a discover=feed`, the default)
QQ_FEED_CHANNELS = ["news_news_top", "news_news_finance", "news_news_tech", "news_news_world",
                    "news_news_mil", "news_news_ent", "news_news_sports"]  # the feed's channels read
QQ_FEED_PAGES = 3  # feed pages read per channel
QQ_FEED_ITEM_COUNT = 12  # items asked for per feed page
QQ_SITEMAP_URL = "https://news.qq.com/sitemap/index.xml"  # the sitemap index (`-a discover=sitemap`)
# Article requests handed to Scrapy at a time (one feed page or sitemap is read at a time): bounds a crawl's memory.
QQ_DISCOVERY_BATCH = 500
# Feed and sitemap requests' timeout (s) and retries: an endpoint that is down fails the run within a minute.
QQ_ENDPOINT_TIMEOUT = 15
QQ_ENDPOINT_RETRY_TIMES = 2
# Days a discovered article found deleted or bodiless (a video) is skipped (STATE_DIR/unarchivable.json); 0: never.
UNARCHIVABLE_RETRY_DAYS = 7
QQ_ARTICLE_URL = "https://new.qq.com/rain/a/{id}"  # where an article is fetched from
# Pre-2019 pages have no id to put in QQ_ARTICLE_URL: their own URL, rebuilt from their id.
QQ_LEGACY_ARTICLE_URL = "http://{channel}.qq.com/a/{date}/{number}.htm"

# --- Many machines: a shared sitemap backfill (archiver/backfill.py) ----------------------------
# A Redis server (redis://[:password@]host:6379/0) holding the backfill's queue and seen-set (`-a discover=sitemap`
# is then one worker) and every run's unarchivable memory. Empty: one machine, no Redis.
REDIS_URL = ""
QQ_WORKER_IDLE_SECONDS = 60  # a worker with nothing to do waits this many seconds for new work, then ends
# A Redis that does not answer fails a worker within seconds, not scrapy-redis's 30.
REDIS_PARAMS = {"socket_timeout": 10, "socket_connect_timeout": 5}

# --- Politeness ---------------------------------------------------------------------------------
ROBOTSTXT_OBEY = True
USER_AGENT = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/131.0.0.0 Safari/537.36")
DEFAULT_REQUEST_HEADERS = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                           "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.6", "Referer": "https://news.qq.com/"}
REFERRER_POLICY = "no-referrer"  # every request carries the Referer above; Scrapy's would name the feed endpoint
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5  # each delay is drawn from 0.5x to 1.5x DOWNLOAD_DELAY
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024

# Retries: 5xx, 429, and qq's 567 (rate limited) and 501 (firewall block), both temporary.
RETRY_ENABLED = True
RETRY_TIMES = 4
RETRY_HTTP_CODES = [500, 501, 502, 503, 504, 522, 524, 408, 429, 567]
# Exponential backoff between attempts: RETRY_BACKOFF_BASE * 2**(attempt-1), jittered, capped.
RETRY_BACKOFF_BASE = 2.0
RETRY_BACKOFF_MAX = 60.0

# --- archiver fetch (requests + tenacity; same headers, timeout, size limit and backoff as above) ---
FETCH_RETRY_ATTEMPTS = 5  # attempts per article page, the first one included
FETCH_RETRY_MAX_SECONDS = 300.0  # no retry starts once this many seconds have passed since an article's first attempt

# --- archiver run (the cron job) -------------------------------------------------------------------------
STATE_DIR = ".state"  # lock, last-run.json, run log; a dot folder (hidden from Hugo) outside ARCHIVE_DIR by default
# Seconds a run may crawl (CLOSESPIDER_TIMEOUT); DOWNLOAD_TIMEOUT later the process ends regardless.
RUN_TIME_LIMIT = 1500
# Articles a run may store before it stops (CLOSESPIDER_ITEMCOUNT; downloads in flight still land); 0: no limit.
RUN_ITEM_LIMIT = 1000
REFRESH_HOURS = 0  # re-fetch archived articles published within this many hours, updating those that changed; 0: off
# The run log (STATE_DIR/run.log) is rotated at this size, keeping LOG_ROTATE_COUNT old files.
LOG_ROTATE_BYTES = 5 * 1024 * 1024
LOG_ROTATE_COUNT = 5
RUN_LOG_LEVEL = "INFO"  # level of the run log file; the console follows LOG_LEVEL

# --- Raw capture (WARC) and images -------------------------------------------------------------
WARC_ENABLED = True  # every response, with its request, goes to WARC files in STATE_DIR/warc (`archiver rebuild`)
WARC_MAX_BYTES = 1024 * 1024 * 1024  # a run starts a new WARC file once the current one reaches this size
WARC_KEEP_DAYS = 30  # WARC files older than this many days are removed when a crawl starts; 0 keeps them all
# The only hosts (and their subdomains) images are downloaded from: Tencent's image servers.
IMAGE_HOST_DOMAINS = ["qq.com", "gtimg.com", "gtimg.cn", "qpic.cn", "idqqimg.com"]
DOWNLOAD_IMAGES = False  # images and thumbnails saved in the Hugo static folder (off: hot-linked, as the site does)
IMAGES_STATIC_DIR = ""  # where images go; "": the `static/qq-images` folder beside ARCHIVE_DIR (a Hugo site's content/)
IMAGES_STATIC_URL = "/qq-images/"  # the site's URL path of IMAGES_STATIC_DIR: documents link IMAGES_STATIC_URL<name>

DOWNLOADER_MIDDLEWARES = {
    "archiver.middlewares.SiteOnlyMiddleware": 50,  # before robots.txt (100): not even it is asked of another host
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "archiver.middlewares.BackoffRetryMiddleware": 550,
    "archiver.warc.WarcCaptureMiddleware": 595,  # just before decompression (590): bodies as the server sent them
    # Between the capture and the decompression: no charset guess at compressed bytes.
    "archiver.middlewares.CompressedAsBytesMiddleware": 592,
}
ITEM_PIPELINES = {
    "archiver.pipelines.RequireBodyPipeline": 100,
    "archiver.images.ImageDownloadPipeline": 200,  # off unless DOWNLOAD_IMAGES is on
    "archiver.pipelines.ArchivePipeline": 300,
}
EXTENSIONS = {"archiver.stats.RunSummary": 500}

# --- Scrapy housekeeping ----------------------------------------------------------------------------
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19's RemoteControl runs Python code sent to a localhost port and writes a token in ~: not wanted here.
REMOTE_CONTROL_ENABLED = False
HTTPCACHE_ENABLED = False
LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
CONCURRENT_ITEMS = 4  # a page gives one article: Scrapy need not prepare for a hundred items a response
# Scrapy's check that no callback is a generator returning a value parses its source again for every
# response (its cache keeps bound methods only while a request lives); tests/test_crawl.py checks once.
WARN_ON_GENERATOR_RETURN_VALUE = False
