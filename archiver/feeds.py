"""The channel feed (`getPCList`): the request body of one page and the listings it returns."""

from __future__ import annotations

import json

from archiver.items import Listing, Skip, listing_or_skip


class FeedError(ValueError):
    """A feed response that cannot be read (not JSON, `ret` not 0, no item list)."""


def feed_request_body(channel: str, page: int, item_count: int = 12) -> str:
    return json.dumps({
        "base_req": {"from": "pc"}, "forward": "1", "qimei36": "qq-archiver", "device_id": "qq-archiver",
        "flush_num": page, "channel_id": channel, "item_count": item_count, "is_local_chlid": "0",
    }, separators=(",", ":"))


def parse_feed(body: bytes, endpoint: str, extra_hosts: frozenset[str] = frozenset()) -> list[Listing | Skip]:
    """Each item of one feed page, as a listing to fetch or a skip with its reason."""
    try:
        payload = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as error:
        raise FeedError(f"feed {endpoint} did not answer JSON ({error})") from None
    if not isinstance(payload, dict):
        raise FeedError(f"feed {endpoint} answered JSON that is not an object")
    if payload.get("ret", 0) not in (0, "0"):
        message = payload.get("msg") or payload.get("errmsg") or "no message"
        raise FeedError(f"feed {endpoint} answered ret={payload.get('ret')!r} ({message})")
    items = [] if payload.get("data") is None else payload["data"]
    if not isinstance(items, list):
        raise FeedError(f"feed {endpoint} answered no item list")
    return [_listing(item, extra_hosts) for item in items]


def _listing(item, extra_hosts: frozenset[str]) -> Listing | Skip:
    if not isinstance(item, dict):
        return Skip("not_article", f"feed item is not an object: {str(item)[:80]!r}")
    label = _text(item.get("id")) or _text(item.get("title"))[:40] or "?"
    article_type = _text(item.get("articletype") or item.get("article_type") or "0")
    if article_type != "0":
        return Skip("not_article", f"{label}: articletype {article_type} (not an article)")
    link_info = item.get("link_info") if isinstance(item.get("link_info"), dict) else {}
    pictures = item.get("pic_info") if isinstance(item.get("pic_info"), dict) else {}
    big = pictures.get("big_img") if isinstance(pictures.get("big_img"), list) else []
    thumbnail = _text(big[0]) if big else ""
    found = listing_or_skip(_text(link_info.get("url") or item.get("url")) or _text(item.get("id")), extra_hosts,
                            title=_text(item.get("title")), published=_text(item.get("publish_time")),
                            thumbnail=thumbnail if thumbnail.startswith(("http://", "https://")) else "",
                            source="feed")
    return found if isinstance(found, Listing) else Skip(found.reason, f"{label}: {found.detail}")


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value))
