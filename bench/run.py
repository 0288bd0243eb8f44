"""The cost of archiving one article, measured: `scrapy crawl qq` beside its floor and trafilatura.

    .venv/bin/python bench/run.py                      # 2,000 articles, all measurements
    .venv/bin/python bench/run.py --articles 10000 --only crawl   # peak RSS at 10,000 articles
    .venv/bin/python bench/run.py --profile            # and a pyinstrument profile of the crawl

Generates N fixture articles (bench/generate.py) into a temporary folder, serves them on localhost
with `FixtureServer` (gzipped, as qq's servers send them; `--identity`: uncompressed), and
measures, each in a subprocess of its own:

- crawl: `scrapy crawl qq -a discover=sitemap` with politeness off (no delay, no autothrottle,
  no robots.txt, 16 concurrent requests), into an empty archive;
- floor: a do-nothing spider (bench/floor_spider.py) fetching the same pages with the same settings;
  Scrapy as it ships, and again as the crawl's process runs Scrapy: the archiver's
  DecompressionMiddleware in place of Scrapy's and its garbage-collector setting (the stricter
  floor, since both save Scrapy's own work);
- trafilatura: bare `trafilatura.extract(page)` over the same pages in one process;
- no-op: `scrapy crawl qq` (the feeds) against a 10,000-file archive that already holds every
  article the feeds list, beside the same run against an archive of just those articles.

CPU is user+sys seconds of the child process (`os.wait4`), not wall time: the machine is shared.
Peak RSS is the child's `ru_maxrss`. The results go to stdout and into BENCHMARKS.md, between
its `bench:latest` markers (the rest of the file is left alone).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shlex
import statistics
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

from archiver.demo.server import FixtureServer  # noqa: E402
from archiver.ids import ArticleRef  # noqa: E402
from archiver.items import Article  # noqa: E402
from archiver.render import render_document  # noqa: E402
from archiver import settings as archiver_settings  # noqa: E402
from archiver.settings import QQ_FEED_CHANNELS, QQ_FEED_ITEM_COUNT, QQ_FEED_PAGES  # noqa: E402
from archiver.store import ArchiveStore  # noqa: E402
from generate import _random_id, generate_site, write_feed  # noqa: E402

BEGIN_MARK = "<!-- bench:latest:begin -->"
NOOP_REPEATS = 3
END_MARK = "<!-- bench:latest:end -->"
SET_ASIDE = "set-aside"

# Politeness off: the benchmark measures the cost of a page, not the delays between them.
FAST = {
    "ROBOTSTXT_OBEY": "False",
    "CONCURRENT_REQUESTS": "16",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
}


# The crawl's Scrapy housekeeping (archiver/settings.py), given to the do-nothing spider too.
FLOOR_HOUSEKEEPING = {
    "COOKIES_ENABLED": "False",
    "TELNETCONSOLE_ENABLED": "False",
    "LOG_LEVEL": "INFO",
    "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    # Tasks per response for its output: a Scrapy setting the crawl tunes, so the floor has it too.
    "CONCURRENT_ITEMS": str(getattr(archiver_settings, "CONCURRENT_ITEMS", 100)),
}


# The crawl's decompression (archiver/settings.py) in place of Scrapy's, and its garbage
# collector's setting (archiver.extensions.GarbageCollection), for the stricter floor.
SAME_DECOMPRESSION = {"DOWNLOADER_MIDDLEWARES": json.dumps({
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "archiver.middlewares.DecompressionMiddleware": 590})}
SAME_COLLECTOR = {"EXTENSIONS": json.dumps({"archiver.extensions.GarbageCollection": 510}),
                  "GC_THRESHOLDS": ",".join(map(str, getattr(archiver_settings, "GC_THRESHOLDS", [])))}


def same_process(code: Path) -> dict[str, str]:
    """The stricter floor's settings: Scrapy as the crawl of checkout `code` runs it."""
    tuned = has_class(code, "extensions", "GarbageCollection") and SAME_COLLECTOR["GC_THRESHOLDS"]
    return {**SAME_DECOMPRESSION, **(SAME_COLLECTOR if tuned else {})}


@dataclass
class Measured:
    """One child process: CPU seconds (user+sys), peak RSS in MB, wall seconds, exit code."""

    cpu: float
    rss_mb: float
    wall: float
    returncode: int
    started: float  # time.monotonic() at the start and the end
    ended: float


def measure(argv: list[str], log_file: Path, cwd: Path = REPO) -> Measured:
    """Run `argv` from `cwd` (the repo root: the project's settings apply); output to `log_file`.
    The command is started by bench/launch.py, a small process of its own, so that its peak RSS is
    not this process's (see there)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("SCRAPY_")}
    log_file.unlink(missing_ok=True)
    # What earlier runs wrote is written out now, not during this run's fsyncs.
    os.sync()
    report_read, report_write = os.pipe()
    with log_file.open("ab") as log:
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, str(BENCH / "launch.py"), str(report_write), *argv],
                                   cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, pass_fds=(report_write,))
        os.close(report_write)
        with os.fdopen(report_read) as reader:
            report = json.loads(reader.read() or "{}")
        process.wait()
        ended = time.monotonic()
    if not report:
        fail(f"bench/launch.py reported nothing for {show(argv)}; see {log_file}")
    return Measured(cpu=report["cpu"], rss_mb=report["maxrss_kb"] / 1024, wall=ended - started,
                    returncode=report["returncode"], started=started, ended=ended)


def scrapy_argv(*args: str, settings: dict[str, str]) -> list[str]:
    argv = [sys.executable, "-m", "scrapy", *args]
    for name, value in settings.items():
        argv += ["-s", f"{name}={value}"]
    return argv


def show(argv: list[str]) -> str:
    """The command as one would type it from the repo root."""
    words = [".venv/bin/python" if word == sys.executable else word.replace(str(REPO) + "/", "")
             for word in argv]
    if words[:3] == [".venv/bin/python", "-m", "scrapy"]:
        words[:3] = [".venv/bin/scrapy"]
    return shlex.join(words)


def read_log(log_file: Path) -> str:
    return log_file.read_text(encoding="utf-8", errors="replace") if log_file.exists() else ""


def stat(log: str, name: str) -> int:
    match = re.search(rf"'{re.escape(name)}': (\d+)", log)
    return int(match.group(1)) if match else 0


def least(rows: list[dict]) -> dict:
    """The run that used the least CPU: other work on the machine only adds."""
    return min(rows, key=lambda row: row.get("cpu_loop", row["m"].cpu))


def least_cpu(run, repeat: int) -> dict:
    """The least CPU of `repeat` tries of `run`."""
    return least([run() for _ in range(max(1, repeat))])


def fail(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr)
    sys.exit(1)


# --- the measurements ------------------------------------------------------------------------------

def set_aside(path: Path, work: Path) -> None:
    """Move an earlier run's folder out of the way, into `work`/set-aside, emptied when the
    benchmark ends. Not deleted now: on an ext4 without a journal (this machine's disk) the
    kernel will not hand out an inode freed in the last minute or more, and checks each one it
    passes over (`recently_deleted` in `perf record`). Creating 2,000 files cost 0.20-0.40 ms
    of CPU a file right after 4,000 were deleted, 0.12-0.17 after 90 s without deletions: a
    cost the benchmark made itself, which no archive run pays (an archive grows)."""
    if not path.exists():
        return
    aside = work / SET_ASIDE
    aside.mkdir(exist_ok=True)
    path.rename(aside / f"{time.monotonic_ns()}-{path.name}")


def crawl_settings(server: FixtureServer, archive: Path, state: Path, log_file: Path,
                   extra: dict[str, str] | None = None) -> dict[str, str]:
    """`scrapy crawl qq` pointed at the fixture server, politeness off, its files in the work folder."""
    return {"ARCHIVE_DIR": str(archive), "STATE_DIR": str(state), **server.settings(), **FAST,
            **(extra or {}), "LOG_FILE": str(log_file)}


def run_crawl(server: FixtureServer, work: Path, articles: int, code: Path, name: str = "crawl",
              extra: dict[str, str] | None = None) -> dict:
    archive, state, log_file = work / f"archive-{name}", work / f"state-{name}", work / f"{name}.log"
    set_aside(archive, work)
    set_aside(state, work)
    log_file.unlink(missing_ok=True)
    settings = crawl_settings(server, archive, state, log_file, extra)
    argv = scrapy_argv("crawl", "qq", "-a", "discover=sitemap", settings=settings)
    server.reset_log()
    result = measure(argv, log_file, cwd=code)
    log = read_log(log_file)
    archived = len(list((archive / "zh-CN" / "news" / "qq").glob("*.md")))
    if result.returncode != 0 or archived != articles:
        fail(f"the crawl archived {archived} of {articles} articles (exit {result.returncode}); see {log_file}")
    layouts: dict[str, int] = {}
    for layout in re.findall(r"archived \S+ \(([^)]*)\)", log):
        layouts[layout] = layouts.get(layout, 0) + 1
    return {"argv": show(argv), "m": result, "pages": archived, "layouts": layouts,
            "errors": stat(log, "log_count/ERROR")}


def profile_crawl(server: FixtureServer, work: Path, code: Path) -> dict:
    """The same crawl under pyinstrument (text report in the work folder); not measured."""
    archive, state = work / "archive-profiled", work / "state-profiled"
    set_aside(archive, work)
    set_aside(state, work)
    profile_file = work / "profile-crawl.txt"
    settings = crawl_settings(server, archive, state, work / "crawl-profiled.log")
    argv = [sys.executable, "-m", "pyinstrument", "-r", "text", "-o", str(profile_file),
            *scrapy_argv("crawl", "qq", "-a", "discover=sitemap", settings=settings)[1:]]
    measure(argv, work / "crawl-profiled.log", cwd=code)
    return {"profile": profile_file, "profile_argv": show(argv)}


def run_floor(server: FixtureServer, work: Path, site: Path, articles: int, name: str = "floor",
              extra: dict[str, str] | None = None) -> dict:
    log_file = work / f"{name}.log"
    log_file.unlink(missing_ok=True)
    settings = {**FLOOR_HOUSEKEEPING, **FAST, **(extra or {}), "LOG_FILE": str(log_file)}
    argv = scrapy_argv("runspider", str(BENCH / "floor_spider.py"), "-a", f"urls={site / 'urls.txt'}",
                       "-a", f"base={server.base_url}", settings=settings)
    server.reset_log()
    # Outside the repo: no scrapy.cfg, so none of the archiver's middlewares, pipelines or
    # extensions run. Scrapy's defaults plus the crawl's own housekeeping settings.
    result = measure(argv, log_file, cwd=work)
    fetched = stat(read_log(log_file), "response_received_count")
    if result.returncode != 0 or fetched != articles:
        fail(f"the do-nothing spider fetched {fetched} of {articles} pages; see {log_file}")
    shown = show(argv).replace("bench/floor_spider.py", "REPO/bench/floor_spider.py").replace(
        ".venv/bin/scrapy", "REPO/.venv/bin/scrapy", 1)
    return {"argv": f"(cd DIR && {shown})", "m": result, "pages": fetched}


def has_class(code: Path, module: str, name: str) -> bool:
    """Whether the checkout measured defines `archiver.<module>.<name>` (older ones may not)."""
    return f"class {name}" in (code / "archiver" / f"{module}.py").read_text(encoding="utf-8")


def run_trafilatura(work: Path, site: Path, articles: int) -> dict:
    log_file = work / "trafilatura.log"
    log_file.unlink(missing_ok=True)
    argv = [sys.executable, str(BENCH / "bare_trafilatura.py"), str(site / "urls.txt"), str(site)]
    result = measure(argv, log_file)
    lines = [line for line in read_log(log_file).splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        fail(f"bare trafilatura failed; see {log_file}")
    report = json.loads(lines[-1])
    if report["pages"] != articles:
        fail(f"bare trafilatura read {report['pages']} of {articles} pages")
    return {"argv": show(argv), "m": result, "pages": report["pages"], "cpu_loop": report["cpu_loop"]}


def empty_site(work: Path) -> Path:
    """A site with no article: a crawl of it costs what starting and stopping one costs."""
    site = work / "empty-site"
    (site / "sitemap").mkdir(parents=True, exist_ok=True)
    (site / "sitemap" / "index.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></sitemapindex>\n')
    (site / "urls.txt").write_text("")
    return site


def build_noop_archive(folder: Path, ids: list[str]) -> None:
    """An archive holding a small rendered document for each id."""
    target = folder / "zh-CN" / "news" / "qq"
    target.mkdir(parents=True, exist_ok=True)
    for article_id in ids:
        article = Article(ref=ArticleRef(article_id), title=f"标题{article_id}", date="2024-05-13 06:16:25",
                          body_html=f"<p>正文{article_id}。</p>",
                          thumbnail=f"https://inews.gtimg.com/om_bt/{article_id}/0")
        (target / f"{article_id}.zh-CN.md").write_text(render_document(article), encoding="utf-8")


def run_noop(work: Path, archive_size: int, seed: int, code: Path) -> dict:
    import random

    rng = random.Random(seed + 1)
    listed = QQ_FEED_PAGES * len(QQ_FEED_CHANNELS) * QQ_FEED_ITEM_COUNT
    ids: list[str] = []
    seen: set[str] = set()
    while len(ids) < max(archive_size, listed):
        article_id = _random_id(rng)
        if article_id not in seen:
            seen.add(article_id)
            ids.append(article_id)
    site = work / "noop-site"
    big, small = work / "noop-archive-big", work / "noop-archive-small"
    for folder in (site, big, small):
        set_aside(folder, work)
    write_feed(site, ids[:listed], QQ_FEED_CHANNELS, QQ_FEED_PAGES, QQ_FEED_ITEM_COUNT)
    build_noop_archive(big, ids)
    build_noop_archive(small, ids[:listed])
    # What the crawl asks of the archive: is each listed article there? (a stat or two each)
    started = time.process_time()
    opened = ArchiveStore(big)
    assert all(ArticleRef(article_id) in opened for article_id in ids[:listed])
    lookup_cpu = time.process_time() - started
    runs: dict[str, list[dict]] = {"big": [], "small": []}
    with FixtureServer(site_dir=site) as server:
        # Interleaved and repeated: a run of a second and a half is at the mercy of the machine.
        for name, archive in [("big", big), ("small", small)] * NOOP_REPEATS:
            log_file = work / f"noop-{name}-{len(runs[name])}.log"
            settings = crawl_settings(server, archive, work / f"state-noop-{name}", log_file)
            argv = scrapy_argv("crawl", "qq", settings=settings)
            server.reset_log()
            result = measure(argv, log_file, cwd=code)
            server.wait_until_answered()  # every feed answer logged as finished
            requests = server.requests
            feeds = [record for record in requests if record.path.startswith("/web_feed/")]
            articles = sum(1 for record in requests if record.path.startswith("/rain/a/"))
            log = read_log(log_file)
            known = (re.findall(r"skipped \d+ \(known (\d+)", log) or [0])[-1]
            if result.returncode != 0 or not feeds:
                fail(f"the no-op run failed (exit {result.returncode}); see {log_file}")
            runs[name].append({
                "argv": show(argv), "m": result, "archive": len(ids) if name == "big" else listed,
                "feed_requests": len(feeds), "article_requests": articles,
                "known": int(known),
                "before_feeds": min(record.started for record in feeds) - result.started,
                "feeds": max(record.finished for record in feeds) - min(record.started for record in feeds),
                "after_feeds": result.ended - max(record.finished for record in feeds),
            })
    rows = {name: sorted(entries, key=lambda entry: entry["m"].cpu)[len(entries) // 2]
            for name, entries in runs.items()}
    rows["lookup_cpu"] = lookup_cpu
    rows["listed"] = listed
    return rows


# --- the report ------------------------------------------------------------------------------------

def report(args, work: Path, site_bytes: int, layouts: dict, crawl, nowarc, floor, floor_same, bare,
           noop, rounds: dict[str, list[dict]] | None = None) -> str:
    n = args.articles
    pages = (f"{n} articles ({', '.join(f'{name} {count}' for name, count in sorted(layouts.items()))}; "
             f"{site_bytes / n / 1024:.0f} KB a page on average, {site_bytes / 2**20:.0f} MB in all)"
             if layouts else "no articles generated")
    lines = [f"Run {dt.datetime.now():%Y-%m-%d %H:%M}, {pages}, "
             f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}; pages served "
             f"{'uncompressed' if args.identity else 'gzipped (Content-Encoding: gzip, as qq serves them)'}.", "",
             f"    {args.command}", "",
             "CPU is user+sys seconds of each child process (os.wait4), the least of "
             f"{max(1, args.repeat)} run(s); pages/s is wall-clock (the fixture server runs in the benchmark's "
             "process, on the same 2 cores). *Fixed* is the CPU of the same command over a site with no "
             "article (starting Python, Scrapy and the project, and stopping); *ms/page* is "
             "(CPU − fixed) / pages, what one more article costs. Trafilatura's CPU is its extraction "
             "loop alone (files already read).", ""]
    if layouts and n < 1000:
        lines += [f"With {n} articles the fixed cost and the machine's noise outweigh the per-page "
                  "figures: use 1,000 or more for the ratios.", ""]
    if crawl or floor or bare:
        lines += ["| run | wall s | pages/s | CPU s | fixed CPU s | CPU ms/page | peak RSS MB |",
                  "|---|---:|---:|---:|---:|---:|---:|"]

    def per_page(entry) -> float:
        cpu = entry.get("cpu_loop", entry["m"].cpu) - entry.get("fixed", 0.0)
        return cpu / entry["pages"]

    def row(name, entry):
        m: Measured = entry["m"]
        fixed = f"{entry['fixed']:.1f}" if "fixed" in entry else "–"
        cpu = entry.get("cpu_loop", m.cpu)
        lines.append(f"| {name} | {m.wall:.1f} | {entry['pages'] / m.wall:.0f} | {cpu:.1f} | {fixed} | "
                     f"{per_page(entry) * 1000:.2f} | {m.rss_mb:.0f} |")

    if crawl:
        row("`scrapy crawl qq` (whole crawl)", crawl)
    if nowarc:
        row("`scrapy crawl qq -s WARC_ENABLED=False`", nowarc)
    if floor:
        row("do-nothing spider (Scrapy's floor)", floor)
    if floor_same:
        row("do-nothing spider, decompressing and collecting garbage as the crawl does", floor_same)
    if bare:
        row("bare `trafilatura.extract()`", bare)
    lines.append("")
    if crawl and floor and bare:
        base, traf = per_page(floor), per_page(bare)
        lines += ["| ratio (CPU a page) | value | target | met |", "|---|---:|---:|---|"]
        for label, entry in (("", crawl), (", WARC off", nowarc)):
            if not entry:
                continue
            whole = per_page(entry)
            own = whole - base
            lines += [
                f"| archiver's own (crawl − floor) / trafilatura{label} | {own / traf:.3f} | ≤ 0.2 | "
                f"{'yes' if own / traf <= 0.2 else 'no'} |",
                f"| whole crawl / trafilatura{label} | {whole / traf:.3f} | ≤ 0.6 | "
                f"{'yes' if whole / traf <= 0.6 else 'no'} |",
            ]
            if floor_same:
                strict = whole - per_page(floor_same)
                lines.append(f"| archiver's own (crawl − the floor as the crawl runs Scrapy) / "
                             f"trafilatura{label} | {strict / traf:.3f} | ≤ 0.2 | {'yes' if strict / traf <= 0.2 else 'no'} |")
        paired = _paired_own(rounds or {}, per_page, traf)
        # The least runs above may come from different rounds, i.e. different speeds of the
        # machine; each round's own ratio does not, and their median is the steadier verdict.
        for label, values in paired:
            median = statistics.median(values)
            lines.append(f"| archiver's own / trafilatura, {label}: the median of {len(values)} rounds' own "
                         f"ratios | {median:.3f} | ≤ 0.2 | {'yes' if median <= 0.2 else 'no'} |")
        if paired:
            lines += ["", "Each round runs the crawls, the floors and trafilatura back to back, and the machine's "
                          "speed drifts less within a round than across rounds: the archiver's own / trafilatura "
                          "with each round's own runs (their median is in the table above):", ""]
            lines += [f"- {label}: {', '.join(f'{value:.3f}' for value in values)}" for label, values in paired]
            lines += ["", *_round_table(rounds, per_page)]
        with_start = (crawl["m"].cpu / crawl["pages"]) / traf
        lines += ["", f"The archiver's own CPU is {(per_page(crawl) - base) * 1000:.2f} ms a page "
                      f"({(per_page(nowarc) - base) * 1000:.2f} ms with WARC capture off); "
                  if nowarc else f"The archiver's own CPU is {(per_page(crawl) - base) * 1000:.2f} ms a page; ",
                  ]
        lines[-1] += (f"counting the crawl's fixed start-up cost into its pages, the whole crawl is "
                      f"{with_start:.3f} of trafilatura at {n} articles.")
        lines.append("")
    if crawl:
        lines.append(f"Layouts the crawl read the bodies from: "
                     f"{', '.join(f'{name} {count}' for name, count in sorted(crawl['layouts'].items()))}; "
                     f"errors logged: {crawl['errors']}.")
        lines.append("")
    if noop:
        big, small = noop["big"], noop["small"]
        lines += [f"No-op incremental run: `scrapy crawl qq` (the feeds: {big['feed_requests']} requests "
                  f"listing {noop['listed']} articles, all archived); the median of {NOOP_REPEATS} runs each, "
                  "interleaved.", "",
                  "| archive | article pages fetched | known | CPU s | peak RSS MB | start → first feed s "
                  "| feed requests s | last feed → exit s |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for entry in (big, small):
            m = entry["m"]
            lines.append(f"| {entry['archive']} files | {entry['article_requests']} | {entry['known']} | {m.cpu:.2f} | "
                         f"{m.rss_mb:.0f} | {entry['before_feeds']:.2f} | {entry['feeds']:.2f} | {entry['after_feeds']:.2f} |")
        extra_wall = (big["before_feeds"] + big["after_feeds"]) - (small["before_feeds"] + small["after_feeds"])
        lines += ["", f"Beyond the feed requests, the {big['archive']}-file archive costs "
                      f"{big['m'].cpu - small['m'].cpu:+.2f} CPU s and {extra_wall:+.2f} wall s more than the "
                      f"{small['archive']}-file one (looking up the {noop['listed']} listed articles in it: "
                      f"{noop['lookup_cpu'] * 1000:.0f} ms CPU, measured in-process); after the last feed answer the run ends in {big['after_feeds']:.2f} s. "
                      f"Article pages fetched: {big['article_requests']}.", ""]
    lines += ["Commands (from the repo root; PORT is the fixture server's, DIR the temporary folder):", ""]
    for entry in (crawl, nowarc, floor, floor_same, bare, noop and noop["big"]):
        if entry:
            lines.append(f"    {re.sub(r'127.0.0.1:[0-9]+', '127.0.0.1:PORT', entry['argv']).replace(str(work), 'DIR')}")
    return "\n".join(lines) + "\n"


_ROUND_COLUMNS = (("crawl", "crawl"), ("nowarc", "crawl, WARC off"), ("floor", "Scrapy's floor"),
                  ("floor_same", "the floor as the crawl runs Scrapy"), ("trafilatura", "trafilatura"))


def _round_table(rounds: dict[str, list[dict]], per_page) -> list[str]:
    """Every run's CPU ms a page, round by round: what the least-of-N figures and the rounds'
    ratios are taken from."""
    columns = [(name, label) for name, label in _ROUND_COLUMNS if rounds.get(name)]
    count = max((len(rounds[name]) for name, _ in columns), default=0)
    if count < 2:
        return []
    lines = ["| CPU ms a page, round | " + " | ".join(label for _, label in columns) + " |",
             "|---:|" + "---:|" * len(columns)]
    for index in range(count):
        cells = [f"{per_page(rounds[name][index]) * 1000:.2f}" if index < len(rounds[name]) else "–"
                 for name, _ in columns]
        lines.append(f"| {index + 1} | " + " | ".join(cells) + " |")
    return lines


def _paired_own(rounds: dict[str, list[dict]], per_page, traf: float) -> list[tuple[str, list[float]]]:
    """For each crawl variant and floor, (crawl − floor) / trafilatura in each round: the round's
    own trafilatura run where each round had one, else `traf`."""
    pairs = []
    trafs = [per_page(entry) for entry in rounds.get("trafilatura", [])]
    for crawl_name, crawl_label in (("crawl", "WARC on"), ("nowarc", "WARC off")):
        for floor_name, floor_label in (("floor", "Scrapy's floor"),
                                        ("floor_same", "the floor as the crawl runs Scrapy")):
            crawls, floors = rounds.get(crawl_name, []), rounds.get(floor_name, [])
            if len(crawls) > 1 and len(crawls) == len(floors):
                divisors = trafs if len(trafs) == len(crawls) else [traf] * len(crawls)
                pairs.append((f"{crawl_label}, against {floor_label}",
                              [(per_page(c) - per_page(f)) / t for c, f, t in zip(crawls, floors, divisors)]))
    return pairs


def write_markdown(path: Path, text: str) -> None:
    block = f"{BEGIN_MARK}\n{text}{END_MARK}"
    if path.exists():
        current = path.read_text(encoding="utf-8")
        if BEGIN_MARK in current and END_MARK in current:
            head, rest = current.split(BEGIN_MARK, 1)
            _, tail = rest.split(END_MARK, 1)
            path.write_text(head + block + tail, encoding="utf-8")
            return
        path.write_text(current.rstrip("\n") + "\n\n## Latest run\n\n" + block + "\n", encoding="utf-8")
        return
    path.write_text(f"# Benchmarks\n\n## Latest run\n\n{block}\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=2000, help="generated articles (default %(default)s)")
    parser.add_argument("--archive-size", type=int, default=10000,
                        help="files in the archive of the no-op run (default %(default)s)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default="crawl,floor,trafilatura,noop",
                        help="comma-separated subset of crawl,floor,trafilatura,noop")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the crawl, the floor and trafilatura this many times; keep the least CPU")
    parser.add_argument("--profile", action="store_true", help="also profile the crawl with pyinstrument")
    parser.add_argument("--identity", action="store_true",
                        help="serve the pages uncompressed (default: gzipped, as qq's servers send them)")
    parser.add_argument("--code", type=Path, default=REPO,
                        help="run the crawls from this checkout of the project (default: this one), "
                             "to compare two versions on the same pages")
    parser.add_argument("--work", type=Path, help="keep the generated site and logs here (default: a temp dir)")
    parser.add_argument("--markdown", type=Path, default=REPO / "BENCHMARKS.md",
                        help="where the results go (default %(default)s); '-' for nowhere")
    args = parser.parse_args(argv)
    args.command = show([sys.executable, *sys.argv]).replace(str(REPO) + "/", "")
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    work = args.work or Path(tempfile.mkdtemp(prefix="qq-bench-"))
    keep = args.work is not None or args.profile  # a profile is read after the run
    work.mkdir(parents=True, exist_ok=True)
    try:
        crawl = nowarc = floor = floor_same = bare = noop = crawl_fixed = floor_fixed = None
        rounds: dict[str, list[dict]] = {}
        site = work / "site"
        layouts: dict[str, int] = {}
        if only & {"crawl", "floor", "trafilatura"}:
            marker = site / "generated.json"
            wanted = {"articles": args.articles, "seed": args.seed}
            if marker.is_file() and json.loads(marker.read_text())["site"] == wanted:
                layouts = json.loads(marker.read_text())["layouts"]  # a kept --work folder: same pages
            else:
                started = time.monotonic()
                shutil.rmtree(site, ignore_errors=True)
                for item in generate_site(site, args.articles, args.seed):
                    layouts[item.layout] = layouts.get(item.layout, 0) + 1
                marker.write_text(json.dumps({"site": wanted, "layouts": layouts}))
                print(f"generated {args.articles} pages in {time.monotonic() - started:.0f} s", file=sys.stderr)
        site_bytes = sum(path.stat().st_size for path in site.rglob("*.htm*")) if layouts else 0
        if only & {"crawl", "floor"}:
            # What a run costs before and after its pages (Python, Scrapy, imports): measured on
            # an empty site, and taken out of the per-page figures.
            nothing = empty_site(work)
            with FixtureServer(site_dir=nothing) as server:
                if "crawl" in only:
                    crawl_fixed = least_cpu(lambda: run_crawl(server, work, 0, args.code, "crawl-empty"), args.repeat)
                if "floor" in only:
                    floor_fixed = least_cpu(lambda: run_floor(server, work, nothing, 0, "floor-empty"), args.repeat)
            with FixtureServer(site_dir=site, gzip_pages=not args.identity) as server:
                server.precompress()
                # Interleaved (crawl, crawl without WARC, floors, trafilatura; again...): whatever
                # the machine does meanwhile falls on all of them alike. Its speed drifts by tens
                # of percent over minutes, so each round also gives its own ratios.
                rounds = {"crawl": [], "nowarc": [], "floor": [], "floor_same": [], "trafilatura": []}
                for _ in range(max(1, args.repeat)):
                    if "crawl" in only:
                        rounds["crawl"].append(run_crawl(server, work, args.articles, args.code))
                        if hasattr(archiver_settings, "WARC_ENABLED"):
                            rounds["nowarc"].append(run_crawl(server, work, args.articles, args.code,
                                                              "crawl-nowarc", {"WARC_ENABLED": "False"}))
                    if "floor" in only:
                        rounds["floor"].append(run_floor(server, work, site, args.articles))
                        if has_class(args.code, "middlewares", "DecompressionMiddleware"):
                            rounds["floor_same"].append(run_floor(server, work, site, args.articles,
                                                                  "floor-same", same_process(args.code)))
                    if "trafilatura" in only:
                        rounds["trafilatura"].append(run_trafilatura(work, site, args.articles))
                crawl, nowarc, floor, floor_same, bare = (least(rows) if rows else None for rows in rounds.values())
                for name, entry in (("crawl", crawl), ("crawl, WARC off", nowarc), ("floor", floor),
                                    ("floor, as the crawl runs Scrapy", floor_same)):
                    if entry:
                        print(f"{name}: {entry['m']}", file=sys.stderr)
                if crawl and args.profile:
                    crawl.update(profile_crawl(server, work, args.code))
        if "trafilatura" in only:
            if bare is None:  # no crawl nor floor: trafilatura alone
                bare = least_cpu(lambda: run_trafilatura(work, site, args.articles), args.repeat)
            print(f"trafilatura: {bare['m']} loop {bare['cpu_loop']:.1f} s", file=sys.stderr)
        if "noop" in only:
            noop = run_noop(work, args.archive_size, args.seed, args.code)
        # Every round's runs, the least ones (crawl, floor...) among them, for all the figures.
        for name, rows in rounds.items():
            if name == "trafilatura":
                continue  # its CPU is its extraction loop: nothing to take out
            fixed = floor_fixed if name.startswith("floor") else crawl_fixed
            for row in rows:
                if fixed:
                    row["fixed"] = fixed["m"].cpu
        text = report(args, work, site_bytes, layouts, crawl, nowarc, floor, floor_same, bare, noop, rounds)
        print(text)
        if crawl and crawl.get("profile"):
            print(f"profile: {crawl['profile']}  ({crawl['profile_argv']})")
        if str(args.markdown) != "-":
            write_markdown(args.markdown, text)
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            shutil.rmtree(work / SET_ASIDE, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
