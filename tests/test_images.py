"""DOWNLOAD_IMAGES: body images and thumbnails kept in the Hugo static folder (archiver/images.py)."""

from __future__ import annotations

import os
import re
import shutil
import struct
import time
import zlib
from pathlib import Path

import frontmatter
import pytest

from stand_in import DEFAULT_SITE_DIR, StandIn, Reply
from archiver.ids import ref_from_id
from archiver.images import ImageFolder, NotAnImage, image_extension, image_urls
from archiver.items import Article
from archiver.store import TEMP_PREFIX
from crawling import archived_files, crawl

_TENCENT_IMAGE = re.compile(r"(?:https?:)?//inews\.gtimg\.com/")
# Served as HTML with status 200: must not be kept as an image.
NOT_AN_IMAGE = "/images/om_bt/O5YmaP_6qz16ylArhb-Ev8xJHCo51f3zDwAUHlMnbcV6AA/641"
# Served as application/octet-stream: the bytes say JPEG.
UNLABELLED_JPEG = "/images/om_bt/OjgzAX9fQzEz6vnNgYR6XudEDMmNMSdSMgGJ_VfaB3vtAA/0"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def png(seed: int) -> bytes:
    """A valid 1x1 PNG whose colour depends on `seed`."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    pixel = bytes((seed % 256, seed // 256 % 256, 128))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" + pixel)) + chunk(b"IEND", b""))


def article(body_html: str, thumbnail: str = "") -> Article:
    return Article(ref=ref_from_id("20250212A03JWP00"), title="t", date="2025-02-12 11:09:17",
                   body_html=body_html, thumbnail=thumbnail)


def test_extension_comes_from_the_bytes_then_the_content_type():
    assert image_extension(png(1), "text/plain") == ".png"
    assert image_extension(JPEG, "application/octet-stream") == ".jpg"
    assert image_extension(b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/jpeg") == ".webp"
    assert image_extension(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml; charset=utf-8") == ".svg"
    with pytest.raises(NotAnImage):
        image_extension(b"<html>404</html>", "text/html")


def test_links_to_downloaded_images_are_rewritten_and_others_kept(tmp_path):
    folder = ImageFolder(tmp_path / "static" / "qq-images", "/qq-images")
    kept = "https://inews.gtimg.com/om_bt/a&b/0"
    missing = "https://inews.gtimg.com/om_bt/missing/0"
    name = folder.save(kept, png(2), "image/png")
    assert name.endswith(".png") and (folder.folder / name).read_bytes() == png(2)
    item = article(f'<p>文</p><p><img src="{kept.replace("&", "&amp;")}" alt="图"></p>'
                   f'<p><img src="{missing}"></p>', thumbnail=kept)
    assert image_urls(item) == [kept, missing]
    local = folder.localise(item)
    assert local.thumbnail == f"/qq-images/{name}"
    assert f'<img src="/qq-images/{name}" alt="图">' in local.body_html
    assert f'<img src="{missing}">' in local.body_html
    # a new folder object (the next run) knows the image from its file alone
    assert ImageFolder(folder.folder, "/qq-images/").local_url(kept) == f"/qq-images/{name}"


def test_opening_the_folder_removes_only_what_killed_writes_left(tmp_path):
    folder = tmp_path / "qq-images"
    folder.mkdir()
    stale = folder / f"{TEMP_PREFIX}abc.partial"
    stale.write_bytes(png(1)[:10])
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    fresh = folder / f"{TEMP_PREFIX}def.partial"  # another worker's download being written now
    fresh.write_bytes(png(1)[:10])
    ImageFolder(folder, "/qq-images")
    assert not stale.exists()
    assert fresh.exists()


def test_static_folder_defaults_to_the_hugo_site_beside_the_content(tmp_path):
    settings = {"ARCHIVE_DIR": str(tmp_path / "site" / "content"), "IMAGES_STATIC_DIR": "", "IMAGES_STATIC_URL": "/i/"}
    assert ImageFolder.from_settings(settings).folder == tmp_path / "site" / "static" / "qq-images"
    assert ImageFolder.from_settings({**settings, "IMAGES_STATIC_DIR": str(tmp_path / "x")}).folder == tmp_path / "x"


@pytest.fixture
def image_site(tmp_path):
    """The fixture site with every Tencent image URL pointed at this server's /images/ on
    `localhost` (a host the spider does not crawl, like Tencent's CDN), each image scripted."""
    site = tmp_path / "site-served"
    with StandIn(site) as server:
        shutil.copytree(DEFAULT_SITE_DIR, site)
        paths = set()
        for path in [*site.glob("pages/*.html"), *site.glob("feed/*/*.json")]:
            text = _TENCENT_IMAGE.sub(f"http://localhost:{server.port}/images/", path.read_text(encoding="utf-8"))
            path.write_text(text, encoding="utf-8")
            paths.update(re.findall(rf"http://localhost:{server.port}(/images/[^\"'\s)&]+)", text))
        for number, path in enumerate(sorted(paths)):
            reply = Reply(body=png(number), headers={"Content-Type": "image/png"})
            if path == NOT_AN_IMAGE:
                reply = Reply(body=b"<html>busy</html>", headers={"Content-Type": "text/html"})
            elif path == UNLABELLED_JPEG:
                reply = Reply(body=JPEG, headers={"Content-Type": "application/octet-stream"})
            server.script(path, [reply] * 3)
        yield server


def image_requests(server) -> list[str]:
    return [record.path for record in server.requests if record.path.startswith("/images/")]


def test_crawl_downloads_each_image_once_and_links_to_it(image_site, tmp_path, capsys):
    server = image_site
    off = crawl(server, tmp_path / "hot" / "content", "since=2019-06-01", STATE_DIR=str(tmp_path / "state-off"))
    assert off.counts["archived"] == 5
    assert image_requests(server) == []  # off by default: hot-linked, as the existing site does
    assert not (tmp_path / "hot" / "static").exists()

    content, state = tmp_path / "site" / "content", tmp_path / "state"
    result = crawl(server, content, "since=2019-06-01", STATE_DIR=str(state), DOWNLOAD_IMAGES="True",
                   IMAGE_HOST_DOMAINS="localhost")
    assert result.counts["archived"] == 5, result.log[-3000:]
    requested = image_requests(server)
    assert requested and len(requested) == len(set(requested)), requested
    static = tmp_path / "site" / "static" / "qq-images"
    names = sorted(path.name for path in static.iterdir())
    assert len(names) == len(requested) - 1  # all but the HTML answer
    assert any(name.endswith(".jpg") for name in names) and any(name.endswith(".png") for name in names)

    documents = {article_id: path.read_text(encoding="utf-8") for article_id, path in archived_files(content).items()}
    every_link = "\n".join(documents.values())
    assert f"(http://localhost:{server.port}{NOT_AN_IMAGE})" in every_link  # kept hot-linked
    for name in names:
        assert f"/qq-images/{name}" in every_link, name
    for article_id, document in documents.items():
        thumbnail = frontmatter.loads(document)["thumbnail"]
        assert thumbnail.startswith("/qq-images/") and (static / Path(thumbnail).name).is_file(), article_id
        for link in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", document):
            assert link.startswith("/qq-images/") or link.endswith(NOT_AN_IMAGE), (article_id, link)

    # a second run, re-fetching every article, downloads nothing again (only the failed one is
    # asked for again) and changes nothing
    server.reset_log()
    again = crawl(server, content, "since=2019-06-01", "refetch=1", STATE_DIR=str(state), DOWNLOAD_IMAGES="True",
                   IMAGE_HOST_DOMAINS="localhost")
    assert again.counts["unchanged"] == 5, again.log[-3000:]
    assert image_requests(server) == [NOT_AN_IMAGE]

    # the rebuild links to the same local copies, with no network
    from archiver.cli import main

    server.stop()
    assert main(["rebuild", "-s", f"ARCHIVE_DIR={content}", "-s", f"STATE_DIR={state}",
                 "-s", "DOWNLOAD_IMAGES=True"]) == 0
    assert "; 0 files changed" in capsys.readouterr().out
