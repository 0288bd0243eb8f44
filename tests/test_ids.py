import datetime as dt

import pytest

from archiver.ids import (ArticleRef, NotAnArticle, OffSite, image_url, is_deleted_page, is_valid_id, parse_article_ref,
                          redirect_target, ref_from_id, sent_url, site_url)

ID = "20250212A03JWP00"


@pytest.mark.parametrize("text", [
    ID,
    "20250212A03JWP",
    "20250212a03jwp00",
    f"https://new.qq.com/rain/a/{ID}",
    f"https://news.qq.com/rain/a/{ID}",
    f"http://new.qq.com/rain/a/{ID}?uid=123&suid=abc#comment",
    f"https://new.qq.com/rain/a/{ID}/",
    f"https://view.inews.qq.com/a/{ID}",
    f"https://view.inews.qq.com/k/{ID}?devid=1",
    "https://new.qq.com/omn/20250212/20250212A03JWP00.html",
    "https://new.qq.com/omn/20250212/20250212A03JWP.html",
    f"//new.qq.com/rain/a/{ID}",
    f"  {ID}\n",
])
def test_every_current_form_gives_the_one_id(text):
    ref = parse_article_ref(text)
    assert ref.article_id == ID
    assert ref.canonical_url == f"https://new.qq.com/rain/a/{ID}"
    assert ref.short_id == "20250212A03JWP"
    assert ref.published_date == dt.date(2025, 2, 12)


@pytest.mark.parametrize("url, article_id, canonical", [
    ("http://finance.qq.com/a/20190923/000843.htm", "finance_20190923_000843",
     "http://finance.qq.com/a/20190923/000843.htm"),
    ("https://tech.qq.com/a/20161014/006270.htm#p=1", "tech_20161014_006270",
     "http://tech.qq.com/a/20161014/006270.htm"),
    ("finance_20190923_000843", "finance_20190923_000843", "http://finance.qq.com/a/20190923/000843.htm"),
])
def test_pre_2019_pages_take_channel_date_number(url, article_id, canonical):
    ref = parse_article_ref(url)
    assert ref.article_id == article_id
    assert ref.legacy
    assert ref.canonical_url == canonical
    assert ref.fetch_url("x/{id}", "http://127.0.0.1:1/{channel}/a/{date}/{number}.htm") == \
        "http://127.0.0.1:1/" + article_id.split("_")[0] + "/a/" + "/".join(article_id.split("_")[1:]) + ".htm"


@pytest.mark.parametrize("text", [
    "", "   ", "hello", "20251399A03JWP00", "20250212_03JWP00", "20250212A03JWP0",
    "TWF2020043100303000", "TWF202004130030300", "TWF20200413003030000", "TWX2020041300303000", "TWF20200",
    "https://new.qq.com/omn/TWF20200/", "20250212A03JWP000",
    "../../etc/passwd", "20250212A03JWP00/../../x", "２０２５０２１２A03JWP00", "20250212A03JW\u200bP00",
    "https://new.qq.com/ch/finance/", "https://new.qq.com/rain/a/",
    "finance_20191399_000843", "Finance_20190923_000843", "finance_20190923_00084",
])
def test_bad_ids_are_not_articles(text):
    with pytest.raises(NotAnArticle):
        parse_article_ref(text)


@pytest.mark.parametrize("url", [
    f"https://example.com/rain/a/{ID}",
    f"https://qq.com.evil.example/rain/a/{ID}",
    f"https://evilqq.com/rain/a/{ID}",
    f"file:///etc/{ID}",
    f"javascript:alert('{ID}')",
    f"ftp://new.qq.com/rain/a/{ID}",
    f"http://127.0.0.1:8080/rain/a/{ID}",
])
def test_other_hosts_and_schemes_are_off_site(url):
    with pytest.raises((OffSite, NotAnArticle)) as caught:
        parse_article_ref(url)
    assert "javascript" in url or caught.type is OffSite


def test_configured_hosts_are_read_like_qq():
    ref = parse_article_ref(f"http://127.0.0.1:8080/rain/a/{ID}", extra_hosts={"127.0.0.1:8080"})
    assert ref == ArticleRef(ID)
    legacy = parse_article_ref("http://127.0.0.1:8080/finance/a/20190923/000843.htm", {"127.0.0.1"})
    assert legacy.article_id == "finance_20190923_000843"


def test_validity_is_checked_on_the_exact_string():
    assert is_valid_id(ID)
    assert not is_valid_id(ID + "\n")
    assert not is_valid_id(ID.lower())
    assert not is_valid_id(None)


@pytest.mark.parametrize("url, host", [
    # A backslash ends the host for the HTTP clients (WHATWG), whatever urllib.parse says.
    (f"http://evil.example\\@new.qq.com/rain/a/{ID}", "evil.example"),
    (f"http://evil.example\\\\@new.qq.com/rain/a/{ID}", "evil.example"),
    (f"http://user@evil.example@new.qq.com/rain/a/{ID}", "new.qq.com"),
    (f"HTTP://New.QQ.com./rain/a/{ID}", "new.qq.com"),
])
def test_the_host_is_the_one_the_request_goes_to(url, host):
    assert sent_url(url).host == host
    if host == "evil.example":
        with pytest.raises(OffSite):
            parse_article_ref(url)
        with pytest.raises(OffSite):
            redirect_target(f"https://new.qq.com/rain/a/{ID}", url)
    else:
        assert site_url(url).host == host


@pytest.mark.parametrize("location", [
    "http://new.qq.com%2eevil.example/rain/a/x",  # a host name no client reads as qq.com
    "//evil.example/babygohome",  # off the site first, deleted page second
    "gopher://new.qq.com/",
    "http:///rain/a/x",
])
def test_redirects_off_the_site_are_refused(location):
    with pytest.raises(OffSite):
        redirect_target(f"https://new.qq.com/rain/a/{ID}", location)


def test_redirects_on_the_site_are_followed_as_sent():
    assert redirect_target(f"https://new.qq.com/rain/a/{ID}", "/omn/author/x y") == \
        "https://new.qq.com/omn/author/x%20y"
    assert is_deleted_page(redirect_target(f"https://new.qq.com/rain/a/{ID}", "https://new.qq.com/babygohome/?x"))


def test_images_may_come_from_tencents_image_hosts_only():
    domains = ("gtimg.com", "qq.com")
    assert image_url("https://inews.gtimg.com/om_bt/X/641", domains).host == "inews.gtimg.com"
    assert image_url("http://127.0.0.1:9/img/1", domains, {"127.0.0.1:9"}).netloc == "127.0.0.1:9"
    for url in ("http://169.254.169.254/latest/meta-data", "https://example.com/a.png",
                "http://127.0.0.1\\@inews.gtimg.com/x"):
        with pytest.raises(OffSite):
            image_url(url, domains)


TWF = "TWF2020041300303000"


@pytest.mark.parametrize("text", [
    TWF, TWF.lower(), f"https://new.qq.com/omn/TWF20200/{TWF}.html", f"https://new.qq.com/rain/a/{TWF}",
    f"https://view.inews.qq.com/a/{TWF}?devid=1", f"https://news.qq.com/rain/a/{TWF}#x",
])
def test_twf_ids_are_read_from_every_form(text):
    ref = parse_article_ref(text)
    assert ref.article_id == TWF
    assert ref.canonical_url == f"https://new.qq.com/rain/a/{TWF}"
    assert ref.fetch_url("https://new.qq.com/rain/a/{id}", "") == f"https://new.qq.com/rain/a/{TWF}"
    assert ref.published_date == dt.date(2020, 4, 13)
    assert ref.short_id is None and not ref.legacy
    assert is_valid_id(TWF)


@pytest.mark.parametrize("article_id, day", [
    ("20250212V03JWP00", dt.date(2025, 2, 12)),  # another letter where articles have `A`
    ("20211025Q0A3KR00", dt.date(2021, 10, 25)),
    ("20190907A081B000", dt.date(2019, 9, 7)),
])
def test_every_letter_of_the_16_character_family_is_an_id(article_id, day):
    ref = ref_from_id(article_id)
    assert ref.published_date == day and ref.short_id == article_id[:14]
    assert ref_from_id(article_id[:14]) == ref


def test_a_rejected_id_says_why():
    with pytest.raises(NotAnArticle, match="not a real date"):
        ref_from_id("TWF2020023000303000")
    with pytest.raises(NotAnArticle, match="ids look like"):
        ref_from_id("hello")
