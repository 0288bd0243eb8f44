"""Videos embedded in an article, listed in `window.DATA.videoArr` or (2020-2021 omn pages) pushed by
a script after the `div.videoPlayerWrap` marking the place: each a linked poster there, else at the end."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from archiver.htmltree import parse_fragment
from archiver.reading.page import QQPage, pushed_videos

WATCH_URL = "https://v.qq.com/x/page/{vid}.html"
# The class of a video's paragraph in body HTML: a poster is not the article's first image.
VIDEO_CLASS = "qq-video"
_VID = re.compile(r"[0-9A-Za-z]{6,32}")
# Where a page marks a video's place: the omn player's wrapper, or an element naming its vid.
VIDEO_PLACES = ".//div[contains(concat(' ', normalize-space(@class), ' '), ' videoPlayerWrap ')] | .//*[@data-vid]"
PLACEHOLDER = re.compile(r"<!--\s*VIDEO_(\d+)\s*-->")
_SCHEME = re.compile(r"^(?:https?:)?//")


@dataclass(frozen=True)
class Video:
    vid: str
    title: str = ""
    poster: str = ""
    desc: str = ""

    @classmethod
    def from_data(cls, data) -> Video | None:
        """A videoArr entry; None unless it names a plausible vid."""
        if not isinstance(data, dict) or not isinstance(data.get("vid"), str) or not _VID.fullmatch(data["vid"]):
            return None
        text = lambda key: data[key].strip() if isinstance(data.get(key), str) else ""  # noqa: E731
        poster = _SCHEME.sub("https://", text("img"), count=1)  # protocol-relative and http posters as https
        return cls(data["vid"], text("title"), poster if poster.startswith("https://") else "", text("desc"))

    def html(self) -> str:
        """The video as body HTML: its poster linked to its watch page, or a plain link."""
        link = html.escape(WATCH_URL.format(vid=self.vid))
        if self.poster:
            return (f'<p class="{VIDEO_CLASS}"><a href="{link}"><img src="{html.escape(self.poster)}" '
                    f'alt="{html.escape(self.desc or self.title)}"></a></p>')
        return f'<p class="{VIDEO_CLASS}"><a href="{link}">{html.escape(self.title or self.vid)}</a></p>'


def page_videos(page: QQPage) -> list[Video]:
    """Every video the page lists, in order, each once."""
    videos: dict[str, Video] = {}
    for video in filter(None, map(Video.from_data, page.video_entries)):
        videos.setdefault(video.vid, video)
    return list(videos.values())


def place_videos(container, page: QQPage, append_rest: bool = True) -> None:
    """Each marked place in `container` becomes its video (the one it names by `data-vid`, else
    the one the script after it pushes, else the page's next unplaced one); with `append_rest`,
    the videos not placed (nor already in it) go at the end."""
    videos = page_videos(page)
    if not videos:
        return
    by_vid = {video.vid: video for video in videos}
    placed = {vid for vid in by_vid if container.xpath(f".//a[@href='{WATCH_URL.format(vid=vid)}']")}
    for place in container.xpath(VIDEO_PLACES):
        video = by_vid.get(place.get("data-vid") or "") or _pushed_after(place) or \
            next((candidate for candidate in videos if candidate.vid not in placed), None)
        if video is None or place.getparent() is None:
            continue
        placed.add(video.vid)
        element = parse_fragment(video.html())[0]
        element.tail = place.tail
        place.getparent().replace(place, element)
    for video in videos if append_rest else ():
        if video.vid not in placed:
            container.append(parse_fragment(video.html())[0])


def _pushed_after(place) -> Video | None:
    script = place.getnext()
    if script is None or script.tag != "script" or not script.text:
        return None
    return next(filter(None, map(Video.from_data, pushed_videos(script.text))), None)
