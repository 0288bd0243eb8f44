"""Requests in the shared Redis queue, as JSON (scrapy-redis's `SCHEDULER_SERIALIZER`). Never pickle: whoever
can write to Redis must not be able to run code on the workers. What is read back is checked, not trusted: only
the spider's own callbacks, plain `Request`s (no class named by the entry), listings whose id is a qq article id
(it names the file written). Bytes, non-string-keyed dicts (headers) and listings are one-key `$` objects."""

from __future__ import annotations

import base64
import json

from archiver.ids import NotAnArticle, ref_from_id
from archiver.items import Listing

# The spider's methods a queued request may name; anything else is refused when read back.
CALLBACKS = frozenset({"parse_article", "parse_sitemap", "article_failed", "endpoint_failed"})
FIELDS = frozenset({"url", "callback", "errback", "headers", "method", "body", "cookies", "meta",
                    "encoding", "priority", "dont_filter", "flags", "cb_kwargs"})
_LISTING_FIELDS = ("title", "published", "thumbnail", "source")


def dumps(request: dict) -> str:
    """A request's `to_dict()` as JSON; raises TypeError for a value JSON cannot carry."""
    return json.dumps(_encode(request), ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def loads(text: str | bytes) -> dict:
    """A request's dict for `request_from_dict`; raises ValueError for anything but our own."""
    request = json.loads(text, object_hook=_decode)
    if not isinstance(request, dict) or not isinstance(request.get("url"), str):
        raise ValueError("not a request")
    unknown = set(request) - FIELDS
    if unknown:
        raise ValueError(f"a request does not carry {', '.join(sorted(unknown))}")
    for name in ("callback", "errback"):
        if request.get(name) is not None and request[name] not in CALLBACKS:
            raise ValueError(f"{name} {request[name]!r} is not one of the spider's")
    if request.get("method", "GET") not in ("GET", "POST", "HEAD"):
        raise ValueError(f"method {request.get('method')!r}")
    return request


def _encode(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Listing):
        return {"$listing": {"id": value.ref.article_id, **{name: getattr(value, name) for name in _LISTING_FIELDS}}}
    if isinstance(value, (list, tuple)):
        return [_encode(item) for item in value]
    if isinstance(value, dict):
        if all(isinstance(key, str) and not key.startswith("$") for key in value):
            return {key: _encode(item) for key, item in value.items()}
        return {"$items": [[_encode(key), _encode(item)] for key, item in value.items()]}
    raise TypeError(f"a queued request cannot carry {type(value).__name__} as JSON")


def _decode(obj: dict):
    tags = [key for key in obj if key.startswith("$")]
    if not tags:
        return obj
    if len(obj) != 1:
        raise ValueError(f"unknown tag in {sorted(obj)}")
    tag, value = tags[0], obj[tags[0]]
    if tag == "$bytes" and isinstance(value, str):
        return base64.b64decode(value, validate=True)
    if tag == "$items" and isinstance(value, list) and all(isinstance(pair, list) and len(pair) == 2 for pair in value):
        return {_hashable(key): item for key, item in value}
    if tag == "$listing" and isinstance(value, dict):
        fields = {name: value.get(name, "") for name in _LISTING_FIELDS}
        if not all(isinstance(field, str) for field in fields.values()):
            raise ValueError("a listing's fields are strings")
        try:
            return Listing(ref=ref_from_id(value.get("id")), **fields)
        except NotAnArticle as error:
            raise ValueError(f"a listing that is not a qq article: {error}") from None
    raise ValueError(f"unknown tag {tag!r}")


def _hashable(key):
    if isinstance(key, (str, bytes, int)):
        return key
    raise ValueError(f"a key of type {type(key).__name__}")
