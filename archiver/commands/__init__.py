"""Scrapy commands of this project (COMMANDS_MODULE): `crawl` exits non-zero when a run failed."""
