"""What a change costs, in instructions: the benchmark's crawl under valgrind's callgrind, for this
checkout and another, side by side.

    .venv/bin/python bench/instructions.py --compare-code ../other-checkout   # 300 articles
    .venv/bin/python bench/instructions.py --articles 1                     # start-up alone

CPU seconds on a shared machine vary by about 10 % between identical crawls, so a change of a few
per cent cannot be told from noise with them (BENCHMARKS.md). The instructions a crawl executes
repeat within about 0.5 %; they are not the budget (that is CPU seconds, bench/run.py), and a saving in
instructions is only as large in seconds where it saves interpreted Python rather than memory
traffic or system calls. Needs valgrind (Debian: `apt install valgrind`); each crawl runs about
30 times slower under it, the two checkouts at once.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

from archiver.demo.server import FixtureServer  # noqa: E402
from generate import generate_site  # noqa: E402
from run import archived_count, code_env, crawl_argv  # noqa: E402

_COLLECTED = re.compile(rb"Collected : (\d+)")


def start_crawl(server: FixtureServer, work: Path, code: Path, name: str) -> tuple[subprocess.Popen, Path]:
    """Start the crawl of `code` under callgrind; the process and its log."""
    archive, state, log = work / f"archive-{name}", work / f"state-{name}", work / f"{name}.log"
    argv = ["valgrind", "--tool=callgrind", "--cache-sim=no", "--branch-sim=no",
            f"--callgrind-out-file={work / name}.callgrind", *crawl_argv(server, archive, state)]
    with log.open("wb") as out:
        return subprocess.Popen(argv, cwd=code, env=code_env(code), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL), log


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--compare-code", type=Path, help="also crawl with this checkout's code")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("bench/instructions.py needs valgrind (apt install valgrind)")
    work = Path(tempfile.mkdtemp(prefix="qq-instructions-"))
    try:
        generate_site(work / "site", args.articles)
        codes = {"this": REPO, **({"compared": args.compare_code.resolve()} if args.compare_code else {})}
        with FixtureServer(site_dir=work / "site", gzip_pages=True) as server:
            server.precompress()
            started = {name: start_crawl(server, work, code, name) for name, code in codes.items()}
            status = {name: process.wait() for name, (process, _) in started.items()}
        counts = {}
        for name, (_, log) in started.items():
            found = _COLLECTED.search(log.read_bytes()) if status[name] == 0 else None
            archived = archived_count(work / f"archive-{name}")
            if found is None or archived != args.articles:
                sys.exit(f"bench: the crawl of {codes[name]} archived {archived} of {args.articles}; its log ends:\n"
                         + log.read_text(errors="replace")[-2000:])
            counts[name] = int(found.group(1))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for name, count in counts.items():
        print(f"{codes[name]}: {count / 1e9:.3f} G instructions, {args.articles} articles")
    if "compared" in counts:
        print(f"{codes['compared']} against this checkout: {(counts['compared'] - counts['this']) / counts['this']:+.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
