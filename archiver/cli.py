"""The `archiver` command (`archiver --help`): the entry points that are not `scrapy crawl qq`.
The outermost layer: nothing imports it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from archiver.crawl import SettingError, load_settings, run_crawl
from archiver.ids import NotAnArticle, OffSite
from archiver.reading import PageError, read_article
from archiver.render import render_document


def cmd_extract(args) -> int:
    path = Path(args.page)
    try:
        body = path.read_bytes()
    except OSError as error:
        print(f"archiver extract: cannot read {path}: {error.strerror}", file=sys.stderr)
        return 2
    if b"\x00" in body[:4096] or not body.strip():
        print(f"archiver extract: {path} is not an HTML page (empty or binary)", file=sys.stderr)
        return 2
    try:
        article = read_article(body, args.url or "")
    except (PageError, NotAnArticle, OffSite) as error:
        print(f"archiver extract: {path}: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(render_document(article))
    return 0


def cmd_demo(args) -> int:
    from archiver.demo.server import FixtureServer
    from archiver.stats import run_counts, summary_line

    with FixtureServer() as server:
        # The fixture site is on this machine: no need to wait between requests.
        settings = load_settings(args.settings, base={
            **server.settings(), "DOWNLOAD_DELAY": 0.05, "AUTOTHROTTLE_START_DELAY": 0.05, "RETRY_BACKOFF_BASE": 0.1,
            "QQ_FEED_CHANNELS": "news_news_finance,news_news_tech", "QQ_FEED_PAGES": 2})
        print(f"demo: fixture site at {server.base_url}; archive in {settings.get('ARCHIVE_DIR')}/")
        # The pre-2019 page is linked from no feed or sitemap: it is asked for by URL, as people do.
        crawler = run_crawl(settings, discover="feed,sitemap", url=server.url("/finance/a/20180923/000843.htm"),
                            refetch="1" if args.refetch else None)
    counts = run_counts(crawler.stats)
    print(summary_line(counts))
    return 0 if counts["archived"] + counts["updated"] + counts["unchanged"] + counts["skipped"]["known"] else 1


def cmd_fetch(args) -> int:
    from archiver.fetch import fetch_articles

    return fetch_articles(args.articles, load_settings(args.settings), to_stdout=args.stdout)


def cmd_run(args) -> int:
    from archiver.runjob import run_job
    from archiver.spiders.qq import DISCOVERY_SOURCES, parse_since

    spider_args = {"discover": args.discover, "url": ",".join(args.url) or None, "since": args.since,
                   "refetch": "1" if args.refetch else None}
    unknown = [part for part in (args.discover or "").split(",") if part.strip() not in ("", *DISCOVERY_SOURCES)]
    if unknown:
        print(f"archiver run: --discover takes {', '.join(DISCOVERY_SOURCES)}, not {', '.join(unknown)}",
              file=sys.stderr)
        return 2
    try:
        parse_since(args.since)
    except ValueError as error:
        print(f"archiver run: {error}", file=sys.stderr)
        return 2
    return run_job(load_settings(args.settings),
                   {key: value for key, value in spider_args.items() if value is not None})


def cmd_rebuild(args) -> int:
    from archiver.rebuild import rebuild_archive
    from archiver.lock import EX_TEMPFAIL, LOCK_FILE, LockHeld, RunLock

    settings = load_settings(args.settings)
    state_dir = Path(settings.get("STATE_DIR"))
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        # `archiver run`'s lock: a rebuild and a crawl never write the archive at the same time.
        with RunLock(state_dir / LOCK_FILE):
            report = rebuild_archive(settings, args.warc)
    except LockHeld as held:
        print(f"archiver rebuild: a run is active ({held}); not starting", file=sys.stderr)
        return EX_TEMPFAIL
    except OSError as error:  # StoreError included: the archive or STATE_DIR cannot be written
        print(f"archiver rebuild: {error}", file=sys.stderr)
        return 1
    for article_id, reason in report.failed.items():
        print(f"archiver rebuild: {article_id} not rebuilt: {reason}", file=sys.stderr)
    print(report.line())
    if not report.captures:
        print("archiver rebuild: no article capture found in "
              f"{', '.join(args.warc) or 'STATE_DIR/warc'}", file=sys.stderr)
        return 1
    return 0


def cmd_backfill(args) -> int:
    from redis.exceptions import RedisError
    from archiver.backfill import new_pass, status, unreachable

    settings = load_settings(args.settings)
    if not settings.get("REDIS_URL"):
        print("archiver backfill: no shared backfill without REDIS_URL (-s REDIS_URL=redis://host:6379/0)",
              file=sys.stderr)
        return 2
    try:
        print(new_pass(settings) if args.new_pass else status(settings))
    except RedisError as error:
        print(f"archiver backfill: {unreachable(settings, error)}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="archiver", description="qq.com news archiver")
    commands = parser.add_subparsers(dest="command", required=True)

    extract = commands.add_parser("extract", help="print the document a saved page gives (no network)")
    extract.add_argument("page", help="a saved qq article page (HTML)")
    extract.add_argument("--url", help="the URL the page was saved from (gives its id)")
    extract.set_defaults(func=cmd_extract)

    demo = commands.add_parser("demo", help="crawl the bundled fixture site on localhost into output/")
    demo.add_argument("--refetch", action="store_true", help="fetch articles already archived too")
    demo.set_defaults(func=cmd_demo)

    fetch = commands.add_parser("fetch", help="fetch the given articles now and (re)write their files")
    fetch.add_argument("articles", nargs="+", metavar="URL_OR_ID", help="an article URL (any qq form) or id")
    fetch.add_argument("--stdout", action="store_true", help="print the documents instead of writing them")
    fetch.set_defaults(func=cmd_fetch)

    run = commands.add_parser("run", help="the cron job: one locked, bounded, incremental crawl")
    run.add_argument("--discover", help="feed, sitemap or both (feed,sitemap); default: feed")
    run.add_argument("--url", action="append", default=[], metavar="URL_OR_ID",
                     help="fetch this article (repeatable); without --discover, only these")
    run.add_argument("--since", metavar="YYYY-MM-DD", help="skip articles published before this day")
    run.add_argument("--refetch", action="store_true", help="fetch articles already archived too")
    run.set_defaults(func=cmd_run)

    rebuild = commands.add_parser("rebuild", help="re-render every archived article from the WARC captures "
                                                  "(no network)")
    rebuild.add_argument("warc", nargs="*", metavar="WARC",
                         help="WARC files or folders to read (default: STATE_DIR/warc)")
    rebuild.set_defaults(func=cmd_rebuild)

    backfill = commands.add_parser("backfill", help="the sitemap backfill shared by several machines (Redis)")
    action = backfill.add_mutually_exclusive_group(required=True)
    action.add_argument("--status", action="store_true", help="queue length, seen-set size, workers seen lately")
    action.add_argument("--new-pass", action="store_true",
                        help="clear the shared queue and seen-set: the next workers start from the sitemap index")
    backfill.set_defaults(func=cmd_backfill)
    for command in (demo, fetch, run, rebuild, backfill):
        command.add_argument("-s", "--set", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                             help="override a setting, as with scrapy crawl -s")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SettingError as error:
        print(f"archiver {args.command}: {error}", file=sys.stderr)
        return 2
