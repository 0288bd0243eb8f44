"""Running `scrapy crawl qq` inside this process, with the project's settings: for the commands
that embed the crawl (`archiver demo`, `archiver run`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from scrapy.settings import Settings

from archiver.store import ArchiveStore, check_writable
from archiver.warc import warc_dir


class SettingError(ValueError):
    """A `-s` override that is not NAME=VALUE."""


def load_settings(overrides: list[str] | dict | None = None, base: dict | None = None) -> Settings:
    """The project's settings with `base` (a command's own values), then the `-s NAME=VALUE`
    overrides, applied as `scrapy crawl` applies them. Raises SettingError."""
    settings = Settings()
    settings.setmodule("archiver.settings", priority="project")
    settings.setdict(base or {}, priority="cmdline")
    if isinstance(overrides, dict):
        settings.setdict(overrides, priority="cmdline")
        return settings
    for item in overrides or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise SettingError(f"-s takes NAME=VALUE, not {item!r}")
        settings.set(name.strip(), value, priority="cmdline")
    return settings


def run_crawl(settings: Settings, on_created: Callable | None = None, **spider_args):
    """Run `scrapy crawl qq` in this process; `on_created(crawler)` first; returns the crawler when done."""
    from scrapy.crawler import CrawlerProcess

    process = CrawlerProcess(settings)
    crawler = process.create_crawler("qq")
    if on_created is not None:
        on_created(crawler)
    process.crawl(crawler, **{key: value for key, value in spider_args.items() if value is not None})
    process.start()
    return crawler


def check_folders(settings) -> None:
    """Fail now, in one line (StoreError), if the archive, STATE_DIR or the WARC folder cannot
    be written (read-only, full, not a folder), before anything is fetched."""
    ArchiveStore(settings.get("ARCHIVE_DIR")).ensure_writable()
    check_writable(Path(settings.get("STATE_DIR")), "STATE_DIR")
    if settings.getbool("WARC_ENABLED"):
        check_writable(warc_dir(settings), "the WARC folder")
