"""Images kept with the archive (body images and thumbnails) in the Hugo site's static folder, as
`<IMAGES_STATIC_DIR>/<sha1 of the image URL>.<jpg|png|gif|webp|...>`. Off by default (`DOWNLOAD_IMAGES`):
the existing site hot-links Tencent's images. Their URLs have no extension, so a file's comes from its
bytes (or its Content-Type). A file's name depends on its URL alone: an image already in the folder is
never downloaded again, and a rebuild links to it with no network.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import os
import re
from pathlib import Path

from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.pipelines.files import FilesPipeline
from scrapy.pipelines.media import FileException

from archiver.items import Article
from archiver.middlewares import IMAGE_REQUEST
from archiver.store import folder_entries, remove_stale_temp, write_file_atomically

_IMG_SRC = re.compile(r"(<img\b[^>]*?\ssrc=\")([^\"]*)(\")", re.IGNORECASE)
_NAME = re.compile(r"([0-9a-f]{40})\.[a-z0-9]{2,5}")
# Bytes first: a CDN may label a WebP as JPEG, or any image as application/octet-stream.
_MAGIC = ((b"\xff\xd8\xff", ".jpg"), (b"\x89PNG\r\n\x1a\n", ".png"), (b"GIF87a", ".gif"),
          (b"GIF89a", ".gif"), (b"BM", ".bmp"), (b"\x00\x00\x01\x00", ".ico"))
_CONTENT_TYPES = {"image/jpeg": ".jpg", "image/jpg": ".jpg", "image/pjpeg": ".jpg", "image/png": ".png",
                  "image/gif": ".gif", "image/webp": ".webp", "image/avif": ".avif", "image/bmp": ".bmp",
                  "image/svg+xml": ".svg", "image/x-icon": ".ico", "image/vnd.microsoft.icon": ".ico"}


class NotAnImage(ValueError):
    """A downloaded body that is neither recognisably an image nor labelled as one."""


def image_extension(body: bytes, content_type: str = "") -> str:
    """The file extension of an image, from its first bytes or else its Content-Type."""
    for magic, extension in _MAGIC:
        if body.startswith(magic):
            return extension
    if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return ".webp"
    if body[4:12] in (b"ftypavif", b"ftypavis"):
        return ".avif"
    media_type = content_type.split(";")[0].strip().lower()
    if media_type in _CONTENT_TYPES:
        return _CONTENT_TYPES[media_type]
    raise NotAnImage(f"not an image (Content-Type {content_type or 'none'}, "
                     f"first bytes {body[:8]!r})")


def image_key(url: str) -> str:
    return hashlib.sha1(url.encode("utf-8")).hexdigest()


def image_urls(article: Article) -> list[str]:
    """The http(s) URLs of the body's images and of the thumbnail, each once, in order."""
    urls = [html.unescape(match.group(2)) for match in _IMG_SRC.finditer(article.body_html)]
    urls.append(article.thumbnail)
    return list(dict.fromkeys(url for url in urls if url.startswith(("http://", "https://"))))


class ImageFolder:
    """The images already downloaded (listed once, when the folder is opened) and new ones."""

    def __init__(self, folder: str | os.PathLike, url_prefix: str):
        self.folder = Path(folder)
        self.url_prefix = url_prefix if url_prefix.endswith("/") else url_prefix + "/"
        self._names: dict[str, str] = {}
        for entry in folder_entries(self.folder):
            remove_stale_temp(entry)  # the store's rule: another process may be writing one
            if match := _NAME.fullmatch(entry.name):
                self._names[match.group(1)] = entry.name

    @classmethod
    def from_settings(cls, settings) -> ImageFolder:
        """The folder IMAGES_STATIC_DIR, or `static/qq-images` beside ARCHIVE_DIR."""
        folder = (settings.get("IMAGES_STATIC_DIR")
                  or Path(os.path.abspath(settings.get("ARCHIVE_DIR"))).parent / "static" / "qq-images")
        return cls(folder, settings.get("IMAGES_STATIC_URL"))

    def __contains__(self, url: str) -> bool:
        return image_key(url) in self._names

    def local_url(self, url: str) -> str | None:
        """The site's link to the downloaded copy of `url`; None when there is none."""
        name = self._names.get(image_key(url))
        return self.url_prefix + name if name else None

    def save(self, url: str, body: bytes, content_type: str = "") -> str:
        """Keep a downloaded image (atomically); its file name. Raises NotAnImage."""
        name = image_key(url) + image_extension(body, content_type)
        write_file_atomically(self.folder / name, body)
        self._names[image_key(url)] = name
        return name

    def localise(self, article: Article) -> Article:
        """The article with each downloaded image (and thumbnail) linked to its local copy."""

        def local_src(match: re.Match) -> str:
            local = self.local_url(html.unescape(match.group(2)))
            return match.group(1) + html.escape(local) + match.group(3) if local else match.group(0)

        body_html = _IMG_SRC.sub(local_src, article.body_html)
        thumbnail = (self.local_url(article.thumbnail) if article.thumbnail else None) or article.thumbnail
        if body_html == article.body_html and thumbnail == article.thumbnail:
            return article
        return dataclasses.replace(article, body_html=body_html, thumbnail=thumbnail)


class ImageDownloadPipeline(FilesPipeline):
    """Scrapy's media pipeline for an article's images: each one not yet in the folder is downloaded (once
    per run), kept, and linked to before the article is stored; a failed download leaves that link hot-linked."""

    def __init__(self, images: ImageFolder, *, crawler):
        super().__init__(str(images.folder), crawler=crawler)
        self.images = images

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("DOWNLOAD_IMAGES"):
            raise NotConfigured("DOWNLOAD_IMAGES is off")
        return cls(ImageFolder.from_settings(crawler.settings), crawler=crawler)

    def get_media_requests(self, item: Article, info) -> list[Request]:
        # Images live on Tencent's CDN hosts: SiteOnlyMiddleware lets these through, no others.
        return [Request(url, meta={"image_url": url, IMAGE_REQUEST: True})
                for url in image_urls(item) if url not in self.images]

    def media_to_download(self, request, info, *, item=None):
        return None  # get_media_requests asks only for images not in the folder

    def file_path(self, request, response=None, info=None, *, item=None) -> str:
        # Only a label in the results, which item_completed does not read: save() names the file.
        return image_key(request.meta.get("image_url", request.url))

    def file_downloaded(self, response, request, info, *, item=None) -> str:
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1")
        try:
            self.images.save(request.meta.get("image_url", request.url), response.body, content_type)
        except NotAnImage as error:
            raise FileException(str(error)) from None
        return hashlib.md5(response.body).hexdigest()  # noqa: S324 (FilesPipeline's checksum)

    def item_completed(self, results, item: Article, info) -> Article:
        return self.images.localise(item)
