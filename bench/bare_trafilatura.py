"""Bare `trafilatura.extract()` over the benchmark's pages, one after the other, in one process.

    python bench/bare_trafilatura.py URLS_FILE SITE_DIR

Prints one JSON line: the pages, the CPU seconds of the extraction loop (files are read before
it starts) and the characters extracted.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import trafilatura


def page_file(site_dir: Path, url: str) -> Path:
    path = url.replace("{{BASE}}", "")
    if path.startswith("/rain/a/"):
        return site_dir / "pages" / f"{path[len('/rain/a/'):]}.html"
    channel, _, date, number = path.strip("/").split("/")
    return site_dir / "legacy" / f"{channel}_{date}_{number.removesuffix('.htm')}.htm"


def main(urls_file: str, site_dir: str) -> None:
    site = Path(site_dir)
    pages = [page_file(site, line.strip()).read_bytes()
             for line in Path(urls_file).read_text(encoding="utf-8").splitlines() if line.strip()]
    extracted = 0
    started = time.process_time()
    for page in pages:
        extracted += len(trafilatura.extract(page) or "")
    cpu = time.process_time() - started
    print(json.dumps({"pages": len(pages), "cpu_loop": cpu, "extracted_chars": extracted}))


if __name__ == "__main__":
    main(*sys.argv[1:3])
