"""The real saved qq pages in ../shared/qq/pages: titles, dates and clean bodies."""

import json
from collections import Counter

import frontmatter

from archiver.reading import decode_html, read_article
from archiver.render import plain_text, render_document


def char_f1(expected: str, actual: str) -> float:
    expected_chars = Counter(c for c in expected if not c.isspace())
    actual_chars = Counter(c for c in actual if not c.isspace())
    overlap = sum((expected_chars & actual_chars).values())
    if not overlap:
        return 0.0
    precision = overlap / sum(actual_chars.values())
    recall = overlap / sum(expected_chars.values())
    return 2 * precision * recall / (precision + recall)


def test_rain_2024_body_matches_its_ground_truth(shared_dir):
    pages = shared_dir / "qq" / "pages"
    truth = json.loads((pages / "rain-2024_20240513A00GCM00.groundtruth.json").read_text(encoding="utf-8"))
    article = read_article((pages / "rain-2024_20240513A00GCM00.html").read_bytes(), truth["url"])
    assert article.article_id == "20240513A00GCM00"
    assert article.title == "经济日报评论员：再驳“中国新能源产能过剩论”"
    assert article.date == "2024-05-13 06:16:25"
    score = char_f1(truth["content"], plain_text(article.body_html))
    assert score >= 0.97, f"character F1 {score:.3f} against the ground truth"
    assert "全新首页" not in render_document(article)


def test_omn_2019_page(shared_dir):
    path = shared_dir / "qq" / "pages" / "omn-2019_20190907A081B000.html"
    article = read_article(path.read_bytes(), "https://new.qq.com/omn/20190907/20190907A081B000.html")
    document = render_document(article)
    assert article.article_id == "20190907A081B000"
    assert article.title == "儿歌一分钱被改成一元钱 原作者女儿：改成这样不觉得拗口吗？"
    assert article.date == "2019-09-07 19:02:26"
    assert "![](https://inews.gtimg.com/newsapp_bt/0/10211616160/1000)" in document
    assert "**一分钱变一元钱，消解经典文化可取吗？**" in document
    assert "扬子晚报记者 张楠" in document
    for boilerplate in ("免责声明", "用微信扫描二维码", "评论", "分享"):
        assert boilerplate not in frontmatter.loads(document).content


def test_legacy_2016_page(shared_dir):
    pages = shared_dir / "qq" / "pages"
    expected = json.loads((pages / "legacy-2016_tech_a_20161014_006270.expected-metadata.json").read_text("utf-8"))
    article = read_article((pages / "legacy-2016_tech_a_20161014_006270.html").read_bytes(),
                           "http://tech.qq.com/a/20161014/006270.htm")
    assert expected["title"].startswith(article.title)
    assert article.title == "DeepMind新电脑已可利用记忆自学 人工智能迈上新台阶"
    assert article.article_id == "tech_20161014_006270"
    assert article.date == "2016-10-14 07:17:00"
    document = render_document(article)
    assert document.endswith("\n\n[qq](http://tech.qq.com/a/20161014/006270.htm)\n")
    body = frontmatter.loads(document).content
    assert "在2014年收购的人工智能公司DeepMind开发出一款" in body
    assert "（编译/林靖东）" in body
    for boilerplate in ("精彩视频推荐", "related_video_info", "rv-root", "转播到腾讯微博", "微博"):
        assert boilerplate not in body
    # the publisher's own notice is the article's text, kept as the site keeps it
    assert "**【美国The Next Web作品的中文相关权益归腾讯公司独家所有。未经授权，不得转载、摘编等。】**" in body


def test_saved_page_declaring_gb2312_with_utf8_bytes_decodes_right(shared_dir):
    raw = (shared_dir / "qq" / "pages" / "legacy-2016_tech_a_20161014_006270.html").read_bytes()
    assert "charset=gb2312" in decode_html(raw)
    assert "人工智能迈上新台阶" in decode_html(raw)
    assert "人工智能迈上新台阶" in decode_html(decode_html(raw).encode("gbk", errors="replace"))
