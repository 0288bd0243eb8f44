"""The crawl's cost against the budget: whole-crawl CPU beside bare trafilatura's, and peak RSS.

    .venv/bin/python bench/run.py                                    # 2,000 articles, 3 rounds
    .venv/bin/python bench/run.py --articles 10000 --only crawl --repeat 1   # peak RSS at 10,000
    .venv/bin/python bench/run.py --compare-code ../other-checkout   # what a change costs

Generates N articles of the four real layouts (bench/generate.py), serves them gzipped on
127.0.0.1 as qq's servers send them, and measures, each in a process of its own (bench/launch.py:
CPU is user+sys, not wall time, since the machine is shared; peak RSS is the process's own):

- crawl: `scrapy crawl qq -a discover=sitemap`, politeness off, WARC capture on, into an empty
  archive (every article must be archived);
- start-up: the same crawl of a site with no article (starting and stopping Python, Scrapy and
  the project), taken out of the crawl's CPU for its figure a page, as the budget's was measured
  when it was set (49c2b5c's "whole crawl / trafilatura": (CPU - fixed) / pages);
- trafilatura: bare `trafilatura.extract()` over the same pages in one process;
- with --compare-code DIR: the same crawl run from checkout DIR, alternating with this one's.

Rounds alternate the runs, so the machine's drift falls on all alike; the medians decide. On a
machine with two CPUs or more, the measured commands run on one CPU and the stand-in server on the
others (split_cpus). The table goes to stdout and between the `bench:latest` markers of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
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
from generate import generate_site  # noqa: E402

BEGIN_MARK = "<!-- bench:latest:begin -->"
END_MARK = "<!-- bench:latest:end -->"
BUDGET_RATIO = 0.5
BUDGET_RSS_MB = 250
LIBRARY_RULE = 0.10
# Politeness off: the benchmark measures what a page costs, not the delays between pages.
FAST = {"ROBOTSTXT_OBEY": "False", "CONCURRENT_REQUESTS": "16", "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
        "DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False", "LOG_LEVEL": "INFO"}


@dataclass
class Measured:
    cpu: float
    rss_mb: float
    wall: float


def split_cpus() -> str:
    """With two CPUs or more, the measured commands run on the last one and this process, with the
    stand-in server's threads, on the others: the server's work does not land on the core being
    measured. Returns the measured commands' CPU for bench/launch.py ("-": one CPU, shared)."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return "-"
    os.sched_setaffinity(0, cpus[:-1])
    return str(cpus[-1])


def code_env(code: Path) -> dict[str, str]:
    """The environment a command runs checkout `code` in: its own package, no SCRAPY_ overrides."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("SCRAPY_")}
    if code != REPO:
        env["PYTHONPATH"] = str(code)
    return env


def archived_count(archive: Path) -> int:
    return len(list((archive / "zh-CN" / "news" / "qq").glob("*.md")))


def measure(argv: list[str], log_file: Path, cwd: Path, cpu: str) -> Measured:
    """Run `argv` through bench/launch.py from checkout `cwd`, on `cpu`; its CPU seconds, peak RSS and wall time."""
    env = code_env(cwd)
    report_read, report_write = os.pipe()
    started = time.monotonic()
    with log_file.open("wb") as log:
        process = subprocess.Popen([sys.executable, str(BENCH / "launch.py"), str(report_write), cpu, *argv],
                                   cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, pass_fds=(report_write,))
        os.close(report_write)
        with os.fdopen(report_read) as reader:
            report = json.loads(reader.read() or "{}")
        process.wait()
    if not report or report["returncode"] != 0:
        sys.exit(f"bench: {shlex.join(argv)} failed; see {log_file}")
    return Measured(report["cpu"], report["maxrss_kb"] / 1024, time.monotonic() - started)


def crawl_argv(server: FixtureServer, archive: Path, state: Path) -> list[str]:
    settings = {**server.settings(), **FAST, "ARCHIVE_DIR": str(archive), "STATE_DIR": str(state)}
    argv = [sys.executable, "-m", "scrapy", "crawl", "qq", "-a", "discover=sitemap"]
    for name, value in settings.items():
        argv += ["-s", f"{name}={value}"]
    return argv


def run_crawl(server: FixtureServer, work: Path, articles: int, code: Path, name: str, cpu: str) -> Measured:
    archive, state = work / f"archive-{name}", work / f"state-{name}"
    for folder in (archive, state):
        shutil.rmtree(folder, ignore_errors=True)
    os.sync()  # what earlier runs wrote is written out now, not during this run
    measured = measure(crawl_argv(server, archive, state), work / f"{name}.log", code, cpu)
    archived = archived_count(archive)
    if archived != articles:
        sys.exit(f"bench: the crawl ({code}) archived {archived} of {articles} articles; see {work / name}.log")
    return measured


def empty_site(work: Path) -> Path:
    """A site whose sitemap index lists nothing: crawling it costs what starting and stopping costs."""
    site = work / "empty-site"
    (site / "sitemap").mkdir(parents=True, exist_ok=True)
    (site / "sitemap" / "index.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></sitemapindex>\n', encoding="utf-8")
    return site


def run_trafilatura(work: Path, site: Path, cpu: str) -> Measured:
    log_file = work / "trafilatura.log"
    measured = measure([sys.executable, str(BENCH / "bare_trafilatura.py"), str(site / "urls.txt"), str(site)],
                       log_file, REPO, cpu)
    # The loop's own CPU: reading the files and importing trafilatura are not extraction.
    measured.cpu = json.loads(log_file.read_text().strip().splitlines()[-1])["cpu_loop"]
    return measured


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(args, rounds: dict[str, list[Measured]], command: str, cpu: str) -> str:
    n = args.articles
    where = "any CPU" if cpu == "-" else f"CPU {cpu}, the stand-in server on the others"
    lines = [f"{n} articles, {args.repeat} round(s), {time.strftime('%Y-%m-%d')}; `{command}`; measured on {where}",
             "",
             "| run | CPU s (median) | CPU s (each round) | ms a page | peak RSS MB (max) |",
             "|---|---:|---|---:|---:|"]
    for name, runs in rounds.items():
        if runs:
            cpus = [run.cpu for run in runs]
            per_page = "–" if name == "start-up" else f"{median(cpus) / n * 1000:.2f}"
            lines.append(f"| {name} | {median(cpus):.2f} | {', '.join(f'{cpu:.2f}' for cpu in cpus)} | "
                         f"{per_page} | {max(run.rss_mb for run in runs):.0f} |")
    lines.append("")
    crawl = median([run.cpu for run in rounds["crawl"]])
    if rounds["crawl"]:
        rss = max(run.rss_mb for run in rounds["crawl"])
        lines.append(f"- peak RSS of the crawl: {rss:.0f} MB (budget < {BUDGET_RSS_MB} MB): "
                     f"{'holds' if rss < BUDGET_RSS_MB else 'MISSED'}")
    if rounds["crawl"] and rounds["trafilatura"]:
        extraction = median([run.cpu for run in rounds["trafilatura"]])
        start_up = median([run.cpu for run in rounds["start-up"]])
        each = zip(rounds["crawl"], rounds["start-up"], rounds["trafilatura"])
        ratio = (crawl - start_up) / extraction
        lines.append(f"- a page's crawl / a page's bare trafilatura (the crawl's start-up taken out): {ratio:.3f} "
                     f"(budget <= {BUDGET_RATIO}): {'holds' if ratio <= BUDGET_RATIO else 'MISSED'}; each round's: "
                     + ", ".join(f"{(crawled.cpu - started.cpu) / extracted.cpu:.3f}" for crawled, started, extracted in each))
        lines.append(f"- with the start-up counted into the pages: {crawl / extraction:.3f}; each round's: " + ", ".join(
            f"{crawled.cpu / extracted.cpu:.3f}" for crawled, extracted in zip(rounds["crawl"], rounds["trafilatura"])))
    if rounds["compared"]:
        other = median([run.cpu for run in rounds["compared"]])
        change = (other - crawl) / crawl
        lines.append(f"- {args.compare_code} against this checkout: {change:+.1%} of the whole crawl's CPU "
                     f"(a hand-made part stays only above {LIBRARY_RULE:.0%})")
    return "\n".join(lines)


def write_markdown(path: Path, text: str) -> None:
    document = path.read_text(encoding="utf-8")
    start, end = document.index(BEGIN_MARK) + len(BEGIN_MARK), document.index(END_MARK)
    path.write_text(f"{document[:start]}\n{text}\n{document[end:]}", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds (default %(default)s)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default="crawl,trafilatura", help="crawl, trafilatura (default: both)")
    parser.add_argument("--compare-code", type=Path, help="also crawl with this checkout's code")
    parser.add_argument("--work", type=Path, help="keep the site and logs here (default: a temporary folder)")
    parser.add_argument("--markdown", type=Path, default=REPO / "BENCHMARKS.md",
                        help="where to write the table (- for nowhere)")
    args = parser.parse_args()
    only = set(args.only.split(","))
    cpu = split_cpus()
    work = args.work or Path(tempfile.mkdtemp(prefix="qq-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    site = work / "site"
    shutil.rmtree(site, ignore_errors=True)
    generate_site(site, args.articles, args.seed)
    rounds: dict[str, list[Measured]] = {"crawl": [], "start-up": [], "compared": [], "trafilatura": []}
    with FixtureServer(site_dir=site, gzip_pages=True) as server, FixtureServer(site_dir=empty_site(work)) as empty:
        server.precompress()
        for number in range(args.repeat):
            if {"crawl", "trafilatura"} <= only:  # the start-up is taken out of the ratio only
                rounds["start-up"].append(run_crawl(empty, work, 0, REPO, "start-up", cpu))
            if "crawl" in only:
                rounds["crawl"].append(run_crawl(server, work, args.articles, REPO, "crawl", cpu))
            if args.compare_code:
                rounds["compared"].append(run_crawl(server, work, args.articles, args.compare_code.resolve(),
                                                    "compared", cpu))
            if "trafilatura" in only:
                rounds["trafilatura"].append(run_trafilatura(work, site, cpu))
            print(f"round {number + 1}: " + ", ".join(f"{name} {runs[-1].cpu:.2f} s" for name, runs in rounds.items()
                                                      if runs), file=sys.stderr)
    command = "bench/run.py " + " ".join(shlex.quote(arg) for arg in sys.argv[1:])
    text = report(args, rounds, command.strip(), cpu)
    print(text)
    if str(args.markdown) != "-":
        write_markdown(args.markdown, text)
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
