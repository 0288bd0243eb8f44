"""A sitemap backfill shared by several machines (docs/ARCHITECTURE.md): scrapy-redis keeps the queue and
the seen-set in Redis, so each sitemap and each article is fetched by one worker only. A worker is `scrapy
crawl qq -a discover=sitemap -s REDIS_URL=redis://host:6379/0`; `archiver backfill --status | --new-pass`."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import time
from urllib.parse import urlsplit, urlunsplit

from redis.exceptions import RedisError
from scrapy import signals
from scrapy.exceptions import CloseSpider, DontCloseSpider
from scrapy_redis import defaults
from scrapy_redis.connection import get_redis_from_settings
from scrapy_redis.scheduler import Scheduler

from archiver.unarchivable import UnarchivablePages

logger = logging.getLogger(__name__)

# A worker writes its heartbeat at most this often (s); --status lists those seen in the last minute.
HEARTBEAT_SECONDS = 10
SEEN_RECENTLY = 60
FORGOTTEN_AFTER = 86400  # a killed worker never takes its heartbeat away: the others drop it a day on
SHARED_SETTINGS = {
    "SCHEDULER": "archiver.backfill.SharedScheduler",
    "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
    "SCHEDULER_SERIALIZER": "archiver.queue_codec",
    "SCHEDULER_PERSIST": True,  # one worker stopping never wipes the others' queue
}


def shown_url(settings) -> str:
    """REDIS_URL without its password, for messages."""
    parts = urlsplit(settings.get("REDIS_URL") or "")
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def unreachable(settings, error: Exception) -> str:
    return f"cannot reach Redis at {shown_url(settings)} ({error})"


def connect(settings):
    """A Redis client from the settings, checked with a ping; raises RedisError (`unreachable` says it)."""
    server = get_redis_from_settings(settings)
    server.ping()
    return server


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def keys(settings) -> dict[str, str]:
    names = {"queue": settings.get("SCHEDULER_QUEUE_KEY") or defaults.SCHEDULER_QUEUE_KEY,
             "seen": settings.get("SCHEDULER_DUPEFILTER_KEY") or defaults.SCHEDULER_DUPEFILTER_KEY,
             "workers": "%(spider)s:workers", "unarchivable": "%(spider)s:unarchivable"}
    return {name: key % {"spider": "qq"} for name, key in names.items()}


class SharedScheduler(Scheduler):
    """scrapy-redis's scheduler, for one worker. Its Redis calls block and raise: a Redis that stops answering
    ends this worker with the reason `redis_unreachable` (in-flight downloads still land), an entry that is
    not one of our requests is dropped and logged, and an idle worker waits QQ_WORKER_IDLE_SECONDS, then ends."""

    @classmethod
    def from_crawler(cls, crawler):
        scheduler = super().from_crawler(crawler)
        scheduler.crawler = crawler
        scheduler.stats = None  # counted below: scrapy-redis counts in a way Scrapy 2.19 deprecates
        scheduler.idle_seconds = crawler.settings.getfloat("QQ_WORKER_IDLE_SECONDS")
        scheduler.lost = scheduler.idle_since = None
        scheduler.beaten = 0.0
        crawler.signals.connect(scheduler.spider_idle, signal=signals.spider_idle)
        return scheduler

    def open(self, spider):
        self._redis(super().open, spider)
        self._redis(self._beat)

    def close(self, reason):
        self._redis(super().close, reason)
        self._redis(self.server.hdel, keys(self.crawler.settings)["workers"], worker_name())

    def enqueue_request(self, request):
        queued = self._redis(super().enqueue_request, request, failed=False)
        if queued:
            self.crawler.stats.inc_value("scheduler/enqueued/redis")
        return queued

    def next_request(self):
        self._redis(self._beat)
        try:
            request = self._redis(super().next_request)
        except (ValueError, TypeError) as error:  # written by someone else: refused, not run
            self.crawler.stats.inc_value("qq/backfill/refused")
            logger.error("dropped an entry of the shared queue that is not one of our requests: %s", error)
            return None
        if request is not None:
            self.idle_since = None
            self.crawler.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self):
        return self._redis(super().has_pending_requests, failed=False)

    def _redis(self, call, *args, failed=None):
        """`call(*args)`, or `failed` once Redis is lost (the first error says so, once)."""
        if self.lost:
            return failed
        try:
            return call(*args)
        except RedisError as error:
            self.lost = (f"Redis at {shown_url(self.crawler.settings)} stopped answering ({error}): "
                         "this worker stops; nothing archived is touched")
            logger.error(self.lost)
            self.crawler.stats.set_value("qq/fatal", self.lost)
            return failed

    def spider_idle(self):
        if self.lost:
            raise CloseSpider("redis_unreachable")
        now = time.monotonic()
        self.idle_since = self.idle_since or now
        if now - self.idle_since < self.idle_seconds:
            raise DontCloseSpider

    def _beat(self) -> None:
        now = time.monotonic()
        if now - self.beaten >= HEARTBEAT_SECONDS:
            key, wall = keys(self.crawler.settings)["workers"], time.time()
            self.server.hset(key, worker_name(), wall)
            stale = [name for name, beat in self.server.hgetall(key).items() if beat_age(beat, wall) > FORGOTTEN_AFTER]
            if stale:
                self.server.hdel(key, *stale)
            self.beaten = now


def beat_age(beat: bytes, now: float) -> float:
    """Seconds since a heartbeat was written; infinite for a value that is not one."""
    try:
        return now - float(beat)
    except ValueError:
        return float("inf")


class SharedUnarchivable(UnarchivablePages):
    """The unarchivable memory in a Redis hash, read and written as each article is met: every
    worker skips what any of them found deleted or empty. A Redis error forgets, never fails."""

    def __init__(self, server, key: str, retry_days: float):
        super().__init__(None, dt.timedelta(days=max(0.0, retry_days)))
        self.found = _RedisEntries(server, key)

    def save(self) -> None:
        """Nothing to write: each entry went to Redis as it was found."""


class _RedisEntries:
    def __init__(self, server, key: str):
        self.server, self.key = server, key

    def get(self, article_id: str):
        try:
            entry = json.loads(self.server.hget(self.key, article_id) or "null")
            return entry["reason"], dt.datetime.fromisoformat(entry["found"])
        except (RedisError, ValueError, TypeError, KeyError):
            return None

    def __setitem__(self, article_id: str, entry: tuple[str, dt.datetime]) -> None:
        reason, found = entry
        try:
            self.server.hset(self.key, article_id, json.dumps({"reason": reason, "found": found.isoformat()}))
        except RedisError as error:
            logger.warning("cannot remember %s as %s in Redis (%s): it will be fetched again", article_id,
                           reason, error)


def new_pass(settings) -> str:
    """Clear the shared queue and seen-set: the next workers start again from the sitemap index."""
    server, names = connect(settings), keys(settings)
    queued, seen = server.zcard(names["queue"]), server.scard(names["seen"])
    server.delete(names["queue"], names["seen"])
    return f"new pass: cleared {queued} queued and {seen} seen request(s) at {shown_url(settings)}"


def status(settings) -> str:
    """What the backfill's Redis holds; reads only (a worker removes its own heartbeat as it ends)."""
    server, names = connect(settings), keys(settings)
    now = time.time()
    workers = {name.decode(errors="replace"): beat_age(beat, now) for name, beat in server.hgetall(names["workers"]).items()}
    recent = sorted(f"{name} ({age:.0f} s ago)" for name, age in workers.items() if age <= SEEN_RECENTLY)
    return "\n".join([f"backfill at {shown_url(settings)}",
                      f"queued requests: {server.zcard(names['queue'])}",
                      f"seen requests: {server.scard(names['seen'])}",
                      f"unarchivable articles remembered: {server.hlen(names['unarchivable'])}",
                      f"workers seen in the last minute: {len(recent)}", *(f"  {line}" for line in recent)])
