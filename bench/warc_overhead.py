"""What WARC capture costs a crawl: `scrapy crawl qq` with WARC_ENABLED off and on, same pages.

    .venv/bin/python bench/warc_overhead.py                   # 500 generated articles, 3 runs each
    .venv/bin/python bench/warc_overhead.py --articles 2000 --repeat 5

Generates the benchmark's fixture site (bench/generate.py), serves it gzipped on localhost (as
qq's servers send pages), and crawls it (`-a discover=sitemap`, politeness off as in
bench/run.py) into an empty archive, alternating capture off and on. CPU is user+sys seconds of
the crawl process, the least of the runs (other work on the machine only adds). The runs with
capture on also report the CPU the crawl's thread spent inside the capture middleware
(bench/timed_capture.py), a figure the other processes of a shared machine blur less.
"""

from __future__ import annotations

import argparse
import json
import os
import re
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

CAPTURE = "archiver.warc.WarcCaptureMiddleware"


def crawl_once(server: FixtureServer, work: Path, articles: int, warc: bool) -> dict:
    archive, state, log_file = work / "archive", work / "state", work / f"crawl-warc-{warc}.log"
    set_aside(archive, work)  # moved aside, not deleted: see bench/run.py set_aside
    set_aside(state, work)
    settings = {"ARCHIVE_DIR": str(archive), "STATE_DIR": str(state), **server.settings(), **FAST,
                "WARC_ENABLED": str(warc), "LOG_FILE": str(log_file)}
    if warc:
        settings["DOWNLOADER_MIDDLEWARES"] = json.dumps(
            {**DOWNLOADER_MIDDLEWARES, CAPTURE: None, "timed_capture.TimedWarcCapture": DOWNLOADER_MIDDLEWARES[CAPTURE]})
    argv = scrapy_argv("crawl", "qq", "-a", "discover=sitemap", settings=settings)
    result = measure(argv, log_file)
    archived = len(list((archive / "zh-CN" / "news" / "qq").glob("*.md")))
    if result.returncode != 0 or archived != articles:
        sys.exit(f"bench: the crawl archived {archived} of {articles} articles; see {log_file}")
    inside = re.findall(r"'warc/cpu_seconds': ([0-9.e-]+)", log_file.read_text(encoding="utf-8", errors="replace"))
    warc_bytes = sum(path.stat().st_size for path in (state / "warc").glob("*.warc.gz")) if warc else 0
    return {"argv": show(argv), "cpu": result.cpu, "wall": result.wall, "warc_bytes": warc_bytes,
            "capture_cpu": float(inside[0]) if inside else 0.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3, help="crawls with capture on, and off (default 3)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    # The crawl subprocess imports bench/timed_capture.py.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCH), os.environ.get("PYTHONPATH")]))
    runs: dict[bool, list[dict]] = {False: [], True: []}
    with tempfile.TemporaryDirectory(prefix="qq-warc-bench-") as folder:
        work = Path(folder)
        generate_site(work / "site", args.articles, args.seed)
        with FixtureServer(work / "site", gzip_pages=True) as server:
            server.precompress()
            for _ in range(args.repeat):
                for warc in (False, True):
                    runs[warc].append(crawl_once(server, work, args.articles, warc))
    off, on = (min(runs[warc], key=lambda run: run["cpu"]) for warc in (False, True))
    print(f"{args.articles} articles served gzipped; least CPU of {args.repeat} runs each")
    print(f"  WARC off: CPU {off['cpu']:.2f} s, wall {off['wall']:.2f} s")
    print(f"  WARC on:  CPU {on['cpu']:.2f} s, wall {on['wall']:.2f} s, {on['warc_bytes'] / 1e6:.1f} MB of WARC")
    print(f"  capture on vs off: CPU {100 * (on['cpu'] / off['cpu'] - 1):+.1f} %")
    inside = ", ".join(f"{run['capture_cpu']:.2f} s" for run in runs[True])
    print(f"  CPU inside the capture middleware, run by run: {inside}")
    print("  every run: " + "; ".join(f"{'on' if warc else 'off'} {run['cpu']:.2f} s"
                                      for off_run, on_run in zip(runs[False], runs[True])
                                      for warc, run in ((False, off_run), (True, on_run))))
    print(f"  command: {on['argv']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
