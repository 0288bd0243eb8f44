"""The archiver's per-page work without Scrapy: `read_article` and `render_document` over the
benchmark's pages, in one process. For profiling, and for checking that a speed-up changed no
output.

    .venv/bin/python bench/profile_pages.py SITE_DIR                     # CPU ms a page, by stage
    .venv/bin/python bench/profile_pages.py SITE_DIR --profile out.txt   # pyinstrument, text report
    .venv/bin/python bench/profile_pages.py SITE_DIR --save golden.json  # every output's sha256
    .venv/bin/python bench/profile_pages.py SITE_DIR --check golden.json # ... and compare to them
    .venv/bin/python bench/profile_pages.py SITE_DIR --real              # the real pages vs trafilatura

SITE_DIR is a site written by bench/generate.py (`bench/run.py --work DIR` keeps one in DIR/site).
The real pages of ../shared/qq/pages are read too when they are there. With
`PYTHONPATH=OTHER_CHECKOUT` it measures that checkout's code instead.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
# The installed package, or this checkout's; PYTHONPATH=OTHER_CHECKOUT measures another version.
sys.path.append(str(BENCH.parent))

from archiver.reading import read_article  # noqa: E402
from archiver.render import render_document  # noqa: E402
from bare_trafilatura import page_file  # noqa: E402

BASE = "http://127.0.0.1:8000"
HOSTS = frozenset({"127.0.0.1", "127.0.0.1:8000"})
REAL_PAGES = {
    "rain-2024_20240513A00GCM00.html": "https://new.qq.com/rain/a/20240513A00GCM00",
    "omn-2019_20190907A081B000.html": "https://new.qq.com/omn/20190907/20190907A081B000.html",
    "legacy-2016_tech_a_20161014_006270.html": "http://tech.qq.com/a/20161014/006270.htm",
}


def load_pages(site: Path) -> list[tuple[str, bytes]]:
    pages = []
    for line in (site / "urls.txt").read_text(encoding="utf-8").splitlines():
        if line.strip():
            pages.append((line.strip().replace("{{BASE}}", BASE), page_file(site, line.strip()).read_bytes()))
    real = BENCH.parent.parent / "shared" / "qq" / "pages"
    for name, url in REAL_PAGES.items():
        if (real / name).is_file():
            pages.append((url, (real / name).read_bytes()))
    return pages


def run(pages: list[tuple[str, bytes]]) -> tuple[dict[str, str], float, float]:
    """Each page's rendered document (sha256), and the CPU seconds of reading and of rendering."""
    digests: dict[str, str] = {}
    reading = rendering = 0.0
    for url, body in pages:
        started = time.process_time()
        article = read_article(body, url, extra_hosts=HOSTS)
        read = time.process_time()
        document = render_document(article)
        rendered = time.process_time()
        reading += read - started
        rendering += rendered - read
        digests[url.replace(BASE, "")] = hashlib.sha256(
            f"{article.layout}\n{article.thumbnail}\n{document}".encode("utf-8")).hexdigest()
    return digests, reading, rendering


def real_pages_table(repeat: int = 10) -> list[str]:
    """Each real saved page: CPU ms of reading and rendering it, and of bare trafilatura.extract()
    (the least of `repeat` tries each)."""
    import trafilatura

    real = BENCH.parent.parent / "shared" / "qq" / "pages"

    def least(work) -> float:
        times = []
        for _ in range(repeat):
            started = time.process_time()
            work()
            times.append(time.process_time() - started)
        return min(times) * 1000

    rows = []
    for name, url in REAL_PAGES.items():
        if not (real / name).is_file():
            continue
        body = (real / name).read_bytes()
        ours = least(lambda: render_document(read_article(body, url)))
        theirs = least(lambda: trafilatura.extract(body))
        rows.append(f"| {name} | {len(body) // 1024} KB | {ours:.2f} | {theirs:.2f} | {ours / theirs:.3f} |")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--profile", type=Path, help="write a pyinstrument text report here")
    parser.add_argument("--save", type=Path, help="write each page's output digest here")
    parser.add_argument("--check", type=Path, help="compare each page's output digest with this file")
    parser.add_argument("--repeat", type=int, default=1, help="time this many passes; keep the fastest")
    parser.add_argument("--real", action="store_true",
                        help="also time each real saved page against bare trafilatura.extract()")
    args = parser.parse_args()
    pages = load_pages(args.site)
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
        digests, reading, rendering = run(pages)
        profiler.stop()
        args.profile.write_text(profiler.output_text(unicode=True, color=False, show_all=False), encoding="utf-8")
    else:
        passes = [run(pages) for _ in range(max(1, args.repeat))]
        digests, reading, rendering = min(passes, key=lambda result: result[1] + result[2])
    n = len(pages)
    import archiver

    print(f"code: {Path(archiver.__file__).parent}")
    print(f"{n} pages: read {reading / n * 1000:.2f} ms, render {rendering / n * 1000:.2f} ms, "
          f"together {(reading + rendering) / n * 1000:.2f} ms CPU a page")
    if args.real:
        print("| real page | size | read + render ms | trafilatura ms | ratio |\n|---|---:|---:|---:|---:|")
        print("\n".join(real_pages_table()))
    if args.save:
        args.save.write_text(json.dumps(digests, indent=0, sort_keys=True), encoding="utf-8")
    if args.check:
        expected = json.loads(args.check.read_text(encoding="utf-8"))
        changed = sorted(url for url in expected if digests.get(url) != expected[url])
        missing = sorted(set(expected) - set(digests))
        if changed or missing:
            print(f"outputs differ for {len(changed)} pages: {changed[:10]}", file=sys.stderr)
            return 1
        print(f"all {len(expected)} outputs identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
