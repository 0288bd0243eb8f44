"""Article identity: every URL form of a qq article, or a bare id, to one `ArticleRef` whose id is
validated (families: docs/ARCHITECTURE.md); and the one place that decides on which host a URL lives,
read as the HTTP clients send it (w3lib's WHATWG rules: `http://evil\\@new.qq.com/` is on `evil`)."""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from w3lib.url import safe_url_string

CANONICAL_URL = "https://new.qq.com/rain/a/{id}"
LEGACY_CANONICAL_URL = "http://{channel}.qq.com/a/{date}/{number}.htm"
# The settings whose hosts a crawl may ask besides qq.com (a local copy of the site, in tests).
ENDPOINT_SETTINGS = ("QQ_FEED_URL", "QQ_SITEMAP_URL", "QQ_ARTICLE_URL", "QQ_LEGACY_ARTICLE_URL")
# A host name as a URL may carry one: labels of letters, digits and hyphens, or an IP address.
_HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?|\[[0-9a-f:.]+\]")

# ASCII only: `\d` would also accept other scripts' digits.
_ID_16 = re.compile(r"[0-9]{8}[A-Z][0-9A-Z]{5}[0-9]{2}")
_ID_14 = re.compile(r"[0-9]{8}[A-Z][0-9A-Z]{5}")
# Every family: the 16-character one, TWF with a date and 8 digits, the pre-2019 channel_date_number.
_ID = re.compile(rf"{_ID_16.pattern}|TWF[0-9]{{16}}|[a-z][a-z0-9]{{0,19}}_[0-9]{{8}}_[0-9]{{6}}")
# An id inside a path segment: `/rain/a/<id>`, `/omn/<date>/<id>.html`, `/a/<id>`, `/k/<id>`.
_ID_IN_PATH = re.compile(
    r"(?<![0-9A-Za-z])(TWF[0-9]{16}|[0-9]{8}[A-Z][0-9A-Z]{5}(?:[0-9]{2})?)(?![0-9A-Za-z])", re.IGNORECASE)
_ID_FORMS = "20250212A03JWP00, 20250212A03JWP, TWF2020041300303000 or finance_20190923_000843"
_LEGACY_PATH = re.compile(r"/a/([0-9]{8})/([0-9]{6})\.s?html?")


class NotAnArticle(ValueError):
    """The input is on an allowed host (or is a bare string) but names no qq article."""


class OffSite(ValueError):
    """The URL is on a host that is neither qq.com nor a configured endpoint."""


@dataclass(frozen=True)
class ArticleRef:
    """One article, known by its id; `legacy` for the pre-2019 `/a/` pages."""

    article_id: str

    @property
    def legacy(self) -> bool:
        return "_" in self.article_id

    @property
    def canonical_url(self) -> str:
        return self.fetch_url(CANONICAL_URL, LEGACY_CANONICAL_URL)

    @property
    def short_id(self) -> str | None:
        """The 14-character form older archives used for file names (16-character ids only)."""
        return self.article_id[:14] if _ID_16.fullmatch(self.article_id) else None

    @property
    def published_date(self) -> dt.date | None:
        """The date the id carries; None when it is not a date."""
        try:
            return dt.datetime.strptime(_date_part(self.article_id), "%Y%m%d").date()
        except ValueError:
            return None

    def fetch_url(self, article_url: str, legacy_article_url: str) -> str:
        """The URL to fetch this article from, given the QQ_ARTICLE_URL templates."""
        if self.legacy:
            channel, date, number = self.article_id.split("_")
            return legacy_article_url.format(channel=channel, date=date, number=number)
        return article_url.format(id=self.article_id)


def _date_part(article_id: str) -> str:
    if "_" in article_id:
        return article_id.split("_")[1]
    return article_id[3:11] if article_id.startswith("TWF") else article_id[:8]


def is_valid_id(article_id: str) -> bool:
    """True for an id of one of qq's families with a real date; not the 14-character form (`ref_from_id` reads it)."""
    return isinstance(article_id, str) and bool(_ID.fullmatch(article_id)) and _date_ok(_date_part(article_id))


def ref_from_id(text: str) -> ArticleRef:
    """A bare id of any family (a 14-character one is its 16-character id) to its ref, or NotAnArticle saying why."""
    candidate = text.strip() if isinstance(text, str) else ""
    if "_" not in candidate:
        candidate = candidate.upper()
        if _ID_14.fullmatch(candidate):
            candidate += "00"
    if not _ID.fullmatch(candidate):
        raise NotAnArticle(f"not a qq article id: {text!r} (ids look like {_ID_FORMS})")
    if not _date_ok(_date_part(candidate)):
        raise NotAnArticle(f"not a qq article id: {text!r} ({_date_part(candidate)} is not a real date)")
    return ArticleRef(candidate)


def _in_domains(host: str, domains: tuple[str, ...]) -> bool:
    host = host.lower().rstrip(".")
    return any(host == domain or host.endswith("." + domain) for domain in domains)


@dataclass(frozen=True)
class SiteUrl:
    """A URL as the HTTP clients send it, the host it goes to, and that host with its port if it names one."""

    url: str
    host: str
    netloc: str


def sent_url(text: str) -> SiteUrl:
    """`text` as Scrapy and requests read it before sending it; OffSite unless an http(s) URL with a plain host name."""
    try:
        url = safe_url_string(text.strip())
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port  # a port that is not a number raises
    except ValueError as error:
        raise OffSite(f"not a URL: {text!r} ({error})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise OffSite(f"not an http(s) URL: {text!r}")
    if not _HOST.fullmatch(host):
        raise OffSite(f"no plain host name in {text!r}")
    return SiteUrl(url, host, f"{host}:{port}" if port else host)


def site_url(text: str, extra_hosts: frozenset[str] | set[str] = frozenset(),
             domains: tuple[str, ...] | list[str] = ("qq.com",), refusal: str = "not a qq.com URL") -> SiteUrl:
    """`text` as it will be sent, when it is on one of `domains` or a configured endpoint's host
    (`extra_hosts`: `host` or `host:port`); raises OffSite, saying `refusal`, otherwise."""
    url = sent_url(text)
    if not (_in_domains(url.host, tuple(domains)) or url.host in extra_hosts or url.netloc in extra_hosts):
        raise OffSite(f"{refusal}: {text!r}")
    return url


def image_url(text: str, image_domains: tuple[str, ...] | list[str],
              extra_hosts: frozenset[str] | set[str] = frozenset()) -> SiteUrl:
    """`site_url` for the image domains (IMAGE_HOST_DOMAINS: Tencent's)."""
    return site_url(text, extra_hosts, image_domains, f"not on an image host ({', '.join(image_domains)})")


def redirect_target(url: str, location: str, extra_hosts: frozenset[str] | set[str] = frozenset()) -> str:
    """Where a redirect from `url` to `location` leads, as it will be sent; raises OffSite for
    anything off qq.com and the configured endpoints (checked before anything else is)."""
    return site_url(urljoin(url, location.strip()), extra_hosts).url


def is_deleted_page(url: str) -> bool:
    """Whether `url` is the page qq sends a deleted article's readers to."""
    return "babygohome" in url


def endpoint_hosts(settings) -> frozenset[str]:
    """The configured endpoints' hosts besides qq.com, each with its port when it names one:
    another port of the same machine is another site."""
    hosts = set()
    for name in ENDPOINT_SETTINGS:
        try:
            hosts.add(sent_url(settings.get(name) or "").netloc)
        except OffSite:
            continue
    return frozenset(hosts)


def parse_article_ref(text: str, extra_hosts: frozenset[str] | set[str] = frozenset()) -> ArticleRef:
    """Any article URL form of qq.com (or of `extra_hosts`, the configured endpoints: a local copy
    of the site), or a bare id, to its ref; raises OffSite or NotAnArticle."""
    if not isinstance(text, str) or not text.strip():
        raise NotAnArticle("empty article reference")
    text = text.strip()
    if "://" not in text and not text.startswith("//"):
        return ref_from_id(text)
    url = site_url(text if "://" in text else "https:" + text, extra_hosts)
    path = urlsplit(url.url).path
    match = _ID_IN_PATH.search(path)
    if match:
        return ref_from_id(match.group(1))
    legacy = _LEGACY_PATH.search(path)
    channel = _legacy_channel(url.host, path[: legacy.start()]) if legacy else None
    article_id = f"{channel}_{legacy.group(1)}_{legacy.group(2)}" if channel else ""
    if is_valid_id(article_id):
        return ArticleRef(article_id)
    raise NotAnArticle(f"no qq article id in {text!r}")


def _legacy_channel(host: str, path_prefix: str) -> str | None:
    """`finance.qq.com` gives `finance`; a local copy serves `/<channel>/a/...`."""
    segment = path_prefix.strip("/").split("/")[-1]
    if not _in_domains(host, ("qq.com",)):
        return segment.lower() or None
    channel = host.split(".")[0] if host.count(".") > 1 else None
    if channel in (None, "www", "new", "news") and segment:
        channel = segment
    return channel.lower() if channel else None


# Every id is checked several times on its way (discovery, the store, the page) and ids share
# their dates: strptime is the costly part.
@functools.lru_cache(maxsize=4096)
def _date_ok(digits: str) -> bool:
    try:
        day = dt.datetime.strptime(digits, "%Y%m%d").date()
    except ValueError:
        return False
    return 1990 <= day.year <= 2100
