"""What WARC capture costs a crawl: `scrapy crawl qq` with WARC_ENABLED on and off, same pages.

    .venv/bin/python bench/warc_overhead.py                   # 1,000 generated articles, 3 runs each
    .venv/bin/python bench/warc_overhead.py --articles 2000 --repeat 5
    .venv/bin/python bench/warc_overhead.py --articles 60 --repeat 2 --live   # the live politeness
    .venv/bin/python bench/warc_overhead.py --articles 2000 --identity        # pages sent uncompressed

Generates the benchmark's fixture site (bench/generate.py), serves it on localhost (pages gzipped,
as qq's servers send them; `--identity`: uncompressed), and crawls
it (`-a discover=sitemap`, politeness off as in bench/run.py) into an empty archive, alternating
capture off and on. CPU is user+sys seconds of the crawl process (the least of the runs: other
work on the machine only adds); wall seconds are shown too. On a shared machine those totals
vary by more than the capture costs, so the runs with capture on also count the CPU time spent
inside the capture middleware itself (bench/timed_capture.py, `time.thread_time()`: handing each
exchange to the capture process), and the overhead is also given as that time over the rest of
the crawl's CPU; the capture process's own CPU (it is a child of the crawl, so the crawl's CPU
includes it) is shown beside it. With `--live` the crawl
keeps the live politeness settings (DOWNLOAD_DELAY, AutoThrottle, 2 requests per domain): the
crawl as it runs against qq.com, where the capture's share of the wall time is far smaller.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

from archiver.demo.server import FixtureServer  # noqa: E402
from archiver.settings import DOWNLOADER_MIDDLEWARES  # noqa: E402
from generate import generate_site  # noqa: E402
from run import FAST, measure, scrapy_argv, set_aside, show  # noqa: E402


def crawl_once(server: FixtureServer, work: Path, articles: int, warc: bool, live: bool = False) -> dict:
    archive, state, log_file = work / "archive", work / "state", work / f"crawl-warc-{warc}.log"
    # Moved aside, not deleted (see set_aside); `measure` writes the previous run's files out first.
    set_aside(archive, work)
    set_aside(state, work)
    log_file.unlink(missing_ok=True)
    settings = {"ARCHIVE_DIR": str(archive), "STATE_DIR": str(state), **server.settings(), **({} if live else FAST),
                "WARC_ENABLED": str(warc), "LOG_FILE": str(log_file)}
    if warc:
        middlewares = {**DOWNLOADER_MIDDLEWARES, "archiver.warc.WarcCaptureMiddleware": None,
                       "timed_capture.TimedWarcCapture": DOWNLOADER_MIDDLEWARES["archiver.warc.WarcCaptureMiddleware"]}
        settings["DOWNLOADER_MIDDLEWARES"] = json.dumps(middlewares)
    argv = scrapy_argv("crawl", "qq", "-a", "discover=sitemap", settings=settings)
    result = measure(argv, log_file)
    archived = len(list((archive / "zh-CN" / "news" / "qq").glob("*.md")))
    if result.returncode != 0 or archived != articles:
        sys.exit(f"bench: the crawl archived {archived} of {articles} articles; see {log_file}")
    warc_bytes = sum(path.stat().st_size for path in (state / "warc").glob("*.warc.gz")) if warc else 0
    log = log_file.read_text(encoding="utf-8", errors="replace")
    timed = [float(value) for value in re.findall(r"'warc/cpu_seconds': ([0-9.e-]+)", log)]
    writer = [float(value) for value in re.findall(r"'warc/writer_cpu_seconds': ([0-9.e-]+)", log)]
    waited = [float(value) for value in re.findall(r"'warc/wall_seconds': ([0-9.e-]+)", log)]
    if warc and not (timed and writer):
        sys.exit(f"bench: no warc/cpu_seconds or warc/writer_cpu_seconds in the crawl's stats; see {log_file}")
    return {"argv": show(argv), "cpu": result.cpu, "wall": result.wall, "warc_bytes": warc_bytes,
            "capture_cpu": sum(timed), "writer_cpu": sum(writer),
            "capture_wall": sum(waited)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="crawls with capture on, and off (default 3)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--live", action="store_true", help="keep the live politeness settings")
    parser.add_argument("--identity", action="store_true",
                        help="serve the pages uncompressed (default: gzipped, as qq's servers send them)")
    args = parser.parse_args(argv)
    # The crawl subprocess imports bench/timed_capture.py.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCH), os.environ.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory(prefix="qq-warc-bench-") as folder:
        work = Path(folder)
        site = work / "site"
        generate_site(site, args.articles, args.seed)
        site_bytes = sum(path.stat().st_size for path in site.rglob("*") if path.is_file())
        runs: dict[bool, list[dict]] = {False: [], True: []}
        with FixtureServer(site, gzip_pages=not args.identity) as server:
            server.precompress()
            for _ in range(args.repeat):
                for warc in (False, True):
                    runs[warc].append(crawl_once(server, work, args.articles, warc, args.live))
    off = min(runs[False], key=lambda run: run["cpu"])
    on = min(runs[True], key=lambda run: run["cpu"])
    print(f"{args.articles} articles, {site_bytes / 1e6:.1f} MB of pages; least of {args.repeat} runs each; "
          f"{'live politeness' if args.live else 'politeness off (CPU-bound)'}; pages served "
          f"{'uncompressed' if args.identity else 'gzipped'}")
    print(f"  WARC off: CPU {off['cpu']:.2f} s, wall {off['wall']:.2f} s")
    print(f"  WARC on:  CPU {on['cpu']:.2f} s, wall {on['wall']:.2f} s, {on['warc_bytes'] / 1e6:.1f} MB of WARC")
    print(f"  capture overhead: CPU {100 * (on['cpu'] / off['cpu'] - 1):+.1f} %, "
          f"wall {100 * (on['wall'] / off['wall'] - 1):+.1f} % (least CPU on vs least CPU off)")
    # Each run with capture is paired with the run just before it (without): the machine's
    # speed drifts over minutes, so adjacent pairs compare best. The median of the pairs.
    pairs = sorted(on_run["wall"] / off_run["wall"] - 1 for off_run, on_run in zip(runs[False], runs[True]))
    print(f"  the crawl's time, run by run (on / the off run just before - 1): "
          f"{', '.join(f'{100 * pair:+.1f} %' for pair in pairs)}; median {100 * statistics.median(pairs):+.1f} %")
    fastest_on = min(run["wall"] for run in runs[True])
    fastest_off = min(run["wall"] for run in runs[False])
    print(f"  the crawl's time: {fastest_off:.2f} s off, {fastest_on:.2f} s on "
          f"({100 * (fastest_on / fastest_off - 1):+.1f} %, least wall of each)")
    shares = sorted(run["capture_cpu"] / (run["cpu"] - run["capture_cpu"] - run["writer_cpu"]) for run in runs[True])
    inside = ", ".join(f"{run['capture_cpu']:.2f} s" for run in runs[True])
    print(f"  CPU inside the capture middleware (the crawl's thread): {inside}; "
          f"over the rest of the crawl's CPU: median {100 * shares[len(shares) // 2]:.1f} %, "
          f"highest {100 * shares[-1]:.1f} %")
    walls = ", ".join(f"{run['capture_wall']:.2f} s" for run in runs[True])
    print(f"  wall time inside the capture middleware: {walls}")
    writers = ", ".join(f"{run['writer_cpu']:.2f} s" for run in runs[True])
    print(f"  CPU of the capture process (digests, gzip, writes; on the other core): {writers}")
    print(f"  command: {on['argv']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
