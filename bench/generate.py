"""Generated qq article pages for the benchmark: a fixture site that `FixtureServer` serves.

The pages copy the shapes of the real saved pages in ../shared/qq/pages: a head full of meta
tags, scripts and styles, the navigation, recommendation lists, a footer, and the body where each
layout keeps it:

| layout | body | metadata | size |
|---|---|---|---|
| rain | `window.DATA.originContent` (`<!--IMG_n-->` placeholders) and `.article-content-wrap .qnt-p` | `window.DATA` | 20-130 KB |
| rich_media | `div.rich_media_content` | `window.DATA` without `originContent` | 5-110 KB |
| omn | `p.one-p`, `img.content-picture`, `<p><strong>` subheadings | `window.DATA` | 30-140 KB |
| legacy | `#Cnt-Main-Article-QQ`, keyword links, GBK bytes | `ARTICLE_INFO` | 80-300 KB |

Images are Tencent CDN URLs without a file extension (`.../641`, `.../0`), as on the site.
Everything is drawn from one seeded random generator: the same arguments give the same site.

    <site>/pages/<id>.html                     rain, rich_media and omn pages (/rain/a/<id>)
    <site>/legacy/<channel>_<date>_<n>.htm     legacy pages, GBK (/<channel>/a/<date>/<n>.htm)
    <site>/sitemap/index.xml, sitemap_<n>.xml  every article, {{BASE}} for the server's address
    <site>/urls.txt                            the same URLs, for the do-nothing spider
"""

from __future__ import annotations

import datetime as dt
import json
import random
import string
from dataclasses import dataclass
from pathlib import Path

LAYOUT_SHARES = (("rain", 0.35), ("rich_media", 0.30), ("omn", 0.20), ("legacy", 0.15))
SIZE_RANGES_KB = {"rain": (20, 130), "rich_media": (5, 110), "omn": (30, 140), "legacy": (80, 300)}
SITEMAP_CHUNK = 1000
LEGACY_CHANNELS = ("tech", "finance", "news", "ent", "sports", "auto")

# Common characters of news text: the generated text has the byte size and the mix of a real one.
_HANZI = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面"
    "而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性"
    "好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第"
    "向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管"
    "特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处"
    "队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清美再采转更单风"
    "切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许"
    "步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列"
    "习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派"
    "层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严首底液官德随病苏失尔死讲配女黄推显谈罪神艺呢"
    "席含企望密批营项防举球英氧势告李台落木帮轮破亚师围注远字材排供河态封另施减树溶怎止案言士均武固叶鱼波视仅"
    "费紧爱左章早朝害续轻服试食充兵源判护司足某练差致板田降黑犯负击范继兴似余坚曲输修故城夫够送笔船占右财吃富"
)
_WORDS: list[str] = []
_PUNCT_MID = "，，，，、；："
_CDN_HOSTS = ("inews.gtimg.com/om_bt", "inews.gtimg.com/newsapp_bt/0", "inews.gtimg.com/newsapp_match/0")
_MEDIA = ("经济日报", "新华社", "人民网", "中国新闻网", "环球时报", "每日经济新闻", "澎湃新闻", "扬子晚报",
          "第一财经", "21世纪经济报道", "央视新闻", "科技日报", "证券时报", "北京日报")


@dataclass(frozen=True)
class GeneratedArticle:
    """One generated page: its id (as the archiver names it), layout, path on the server, file."""

    article_id: str
    layout: str
    path: str  # `/rain/a/<id>` or `/<channel>/a/<date>/<n>.htm`
    file: Path
    published: str


class _Text:
    """Chinese-like text from a seeded generator: words, sentences, paragraphs, titles."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        if not _WORDS:
            word_rng = random.Random(7)
            for _ in range(3000):
                _WORDS.append("".join(word_rng.choices(_HANZI, k=word_rng.choice((1, 2, 2, 2, 3, 4)))))

    def clause(self, words: int) -> str:
        return "".join(self.rng.choices(_WORDS, k=words))

    def sentence(self) -> str:
        rng = self.rng
        parts = [self.clause(rng.randint(3, 9)) for _ in range(rng.randint(1, 4))]
        text = "".join(part + rng.choice(_PUNCT_MID) for part in parts[:-1]) + parts[-1]
        roll = rng.random()
        if roll < 0.15:
            text = f"{text}{rng.randint(2, 98)}.{rng.randint(0, 9)}%"
        elif roll < 0.25:
            text = f"“{text}”"
        elif roll < 0.32:
            text = f"{rng.randint(1990, 2025)}年{rng.randint(1, 12)}月{text}"
        return text + rng.choice("。。。。！？")

    def paragraph(self, chars: int) -> str:
        out: list[str] = []
        length = 0
        while length < chars:
            sentence = self.sentence()
            out.append(sentence)
            length += len(sentence)
        return "".join(out)

    def title(self) -> str:
        return self.clause(self.rng.randint(5, 10))[:30]


# --- the parts every layout shares ---------------------------------------------------------------

def _cdn_image(rng: random.Random) -> str:
    token = "".join(rng.choices(string.ascii_letters + string.digits, k=rng.choice((12, 24, 32))))
    return f"https://{rng.choice(_CDN_HOSTS)}/{token}/{rng.choice(('0', '641', '1000', '640'))}"


def _script_block(rng: random.Random, size: int) -> str:
    """A minified-looking script of about `size` characters."""
    names = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(1, 8))) for _ in range(30)]
    pieces: list[str] = []
    length = 0
    while length < size:
        a, b, c = rng.choice(names), rng.choice(names), rng.choice(names)
        piece = rng.choice((
            f"function {a}({b},{c}){{var {c}={b}||{{}};return {c}.{a}?{c}.{a}({b}):void 0}};",
            f"window.{a}=window.{a}||[];window.{a}.push({{id:'{b}',t:{rng.randint(0, 99999)}}});",
            f"try{{if('{a}'in document){{document.{a}=\"{b}\"}}}}catch({c}){{console.log({c})}};",
            f"var {a}=document.getElementById('{b}');{a}&&{a}.addEventListener('click',function(){{{c}()}});",
            f"!function({a}){{var {b}=[{','.join(str(rng.randint(0, 999)) for _ in range(8))}];{a}.{c}={b}}}(window);",
        ))
        pieces.append(piece)
        length += len(piece)
    return "".join(pieces)


def _style_block(rng: random.Random, size: int) -> str:
    pieces: list[str] = []
    length = 0
    while length < size:
        selector = rng.choice(("." + "".join(rng.choices(string.ascii_lowercase + "-", k=rng.randint(4, 14))),
                               "#" + "".join(rng.choices(string.ascii_letters, k=rng.randint(4, 12)))))
        piece = (f"{selector} {rng.choice(('a', 'li', 'p', 'span', 'div', 'img'))}{{"
                 f"margin:{rng.randint(0, 30)}px {rng.randint(0, 30)}px;color:#{rng.randrange(0xffffff):06x};"
                 f"font-size:{rng.randint(10, 24)}px;line-height:{rng.randint(14, 36)}px}}\n")
        pieces.append(piece)
        length += len(piece)
    return "".join(pieces)


def _head_tags(rng: random.Random, title: str, description: str) -> str:
    metas = "".join(f'<meta name="{name}" content="{value}">' for name, value in (
        ("keywords", description[:30]), ("Description", description[:120]), ("viewport", "width=device-width"),
        ("referrer", "always"), ("renderer", "webkit")))
    links = "".join(f'<link rel="stylesheet" href="//mat1.gtimg.com/qqcdn/{_token(rng, 10)}.css">'
                    for _ in range(rng.randint(3, 6)))
    scripts = "".join(f'<script src="//mat1.gtimg.com/libs/{_token(rng, 8)}.js"></script>'
                      for _ in range(rng.randint(3, 8)))
    return f'<meta charset="utf-8"><title>{title}_腾讯新闻</title>{metas}{links}{scripts}'


def _token(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(string.ascii_lowercase + string.digits, k=length))


def _nav(rng: random.Random) -> str:
    channels = ("首页", "要闻", "财经", "科技", "娱乐", "体育", "军事", "国际", "汽车", "房产", "游戏", "教育", "文化")
    items = "".join(f'<li class="nav-item"><a href="https://news.qq.com/ch/{i}/"><span>{name}</span></a></li>'
                    for i, name in enumerate(channels[: rng.randint(7, len(channels))]))
    return (f'<div id="TopNav"><div class="topNav-flex bg-white"><a class="logo" href="https://www.qq.com/"></a>'
            f'<div class="mini-nav"><ul class="mini-default-nav">{items}</ul></div>'
            f'<div class="search-wrapper"><div class="search-box"><input type="text"><button><span>搜索</span>'
            f'</button></div></div><div class="login-wrapper"><span class="login-button">登录</span></div></div>'
            f'<div class="rc-dropdown qqcom-dropdown"><div class="head"><h1 class="title">全新首页 焕新登场</h1>'
            f'<p class="desc">精选频道  一手热点不容错过</p></div></div></div>')


def _recommend_list(rng: random.Random, text: _Text, entries: int) -> str:
    items = []
    for _ in range(entries):
        items.append(f'<li class="item"><a href="https://new.qq.com/rain/a/{_random_id(rng)}" target="_blank">'
                     f'<img src="{_cdn_image(rng)}" class="pic"><p class="tit">{text.title()}</p></a>'
                     f'<span class="source">{rng.choice(_MEDIA)}</span><span class="time">{rng.randint(1, 59)}分钟前'
                     f'</span></li>')
    return f'<div class="recommend-list"><h3 class="bar-tit">相关推荐</h3><ul>{"".join(items)}</ul></div>'


def _footer() -> str:
    links = "".join(f'<a href="https://www.tencent.com/{i}">{name}</a>' for i, name in enumerate(
        ("关于腾讯", "About Tencent", "服务协议", "隐私政策", "开放平台", "广告服务", "腾讯招聘", "客服中心")))
    return (f'<div id="Foot" class="qq_footer"><div class="tcopyright"><div>{links}</div>'
            f'<div>Copyright © 1998 - 2025 Tencent. All Rights Reserved.</div>'
            f'<div><a href="https://www.tencent.com/">腾讯公司</a> <a href="#">版权所有</a></div></div></div>')


def _filler(rng: random.Random, text: _Text, budget: int) -> tuple[str, str]:
    """Boilerplate of about `budget` characters: scripts and styles for the head, and right-bar
    recommendation lists for the body, in the proportions of the real pages."""
    if budget <= 0:
        return "", ""
    dom_share = rng.uniform(0.15, 0.35)
    lists: list[str] = []
    dom_budget = int(budget * dom_share)
    used = 0
    while used < dom_budget:
        block = _recommend_list(rng, text, rng.randint(5, 12))
        lists.append(block)
        used += len(block) * 2  # characters of Chinese text weigh about twice their count in bytes
    head: list[str] = []
    rest = budget - used
    while rest > 0:
        size = min(rest, rng.randint(2000, 30000))
        if rng.random() < 0.6:
            head.append(f"<script>{_script_block(rng, size)}</script>")
        else:
            head.append(f"<style>{_style_block(rng, size)}</style>")
        rest -= size
    right_bar = f'<div id="RIGHT" class="RIGHT"><div class="right-bar">{"".join(lists)}</div></div>'
    return "".join(head), right_bar


def _random_id(rng: random.Random, date: dt.date | None = None) -> str:
    date = date or dt.date(2019, 1, 1) + dt.timedelta(days=rng.randrange(2400))
    return f"{date:%Y%m%d}A{''.join(rng.choices(string.digits + string.ascii_uppercase, k=5))}00"


# --- the body of an article ----------------------------------------------------------------------

@dataclass
class _Body:
    paragraphs: list[str]
    images: list[tuple[int, str, str]]  # (paragraph index it follows, URL, caption)
    subheads: set[int]


def _body(rng: random.Random, text: _Text) -> _Body:
    count = rng.choice((3, 5, 8, 12, 16, 20, 25, 30, 40))
    paragraphs = [text.paragraph(rng.choice((40, 80, 120, 160, 220, 300))) for _ in range(count)]
    subheads = {i for i in range(1, count) if rng.random() < 0.08}
    for i in subheads:
        paragraphs[i] = text.title()
    images = [(rng.randrange(count), _cdn_image(rng), text.title() if rng.random() < 0.4 else "")
              for _ in range(rng.choice((0, 0, 1, 1, 2, 3, 5, 8, 12)))]
    images.sort(key=lambda image: image[0])
    return _Body(paragraphs, images, subheads)


def _images_after(body: _Body, index: int) -> list[tuple[str, str]]:
    return [(url, caption) for at, url, caption in body.images if at == index]


# --- the layouts -----------------------------------------------------------------------------------

def _page(rng: random.Random, text: _Text, target: int, head_extra: str, content: str, title: str,
          description: str) -> str:
    skeleton_head = _head_tags(rng, title, description) + head_extra
    nav = _nav(rng)
    budget = target - len((skeleton_head + nav + content + _footer()).encode("utf-8")) - 400
    scripts, right_bar = _filler(rng, text, budget)
    return (f"<!DOCTYPE html><html lang=\"zh-CN\"><head>{skeleton_head}{scripts}</head><body>"
            f"{nav}<div id=\"topAd\"></div><div class=\"qq_conent clearfix\"><div class=\"LEFT\">{content}"
            f"<div id=\"Comment\"><div class=\"qq_comment\"><span>评论 0</span><textarea></textarea></div></div>"
            f"<div id=\"Recomend\"></div></div>{right_bar}</div>{_footer()}"
            f"<script>var TIME_BEFORE_LOAD_CRYSTAL = (new Date()).getTime();</script></body></html>")


def _window_data(article_id: str, title: str, media: str, pubtime: str, description: str, extra: dict) -> str:
    data = {"url": f"https://new.qq.com/rain/a/{article_id}", "title": title, "article_id": article_id[:14],
            "abstract": description, "desc": description, "catalog1": "finance", "media": media,
            "media_id": "5161561", "pubtime": pubtime, "comment_id": "8280420516", "tags": "",
            "cmsId": article_id, "cms_id": article_id, "userAddress": "北京",
            "card": {"chlid": "5161561", "chlname": media, "icon": "http://inews.gtimg.com/newsapp_ls/0/1/0"},
            "videoArr": []}
    data.update(extra)
    return f"<script>window.DATA = {json.dumps(data, ensure_ascii=False)};</script>"


def _rain(rng, text, article_id, title, media, pubtime, target) -> str:
    body = _body(rng, text)
    origin, attributes, rendered = [], {}, []
    for i, paragraph in enumerate(body.paragraphs):
        origin.append(f"<P><STRONG>{paragraph}</STRONG></P>" if i in body.subheads else f"<P>{paragraph}</P>")
        rendered.append(f'<div class="qnt-p">{"<strong>" + paragraph + "</strong>" if i in body.subheads else paragraph}</div>')
        for url, caption in _images_after(body, i):
            key = f"IMG_{len(attributes)}"
            attributes[key] = {"imgurl0": url, "origUrl": url, "compressUrl": url, "bigOrigUrl": url,
                               "desc": caption, "width": 641, "height": 360}
            origin.append(f"<!--{key}-->")
            rendered.append(f'<div class="qnt-p qnt-img"><img class="qnt-img-img" src="{url}" alt="{caption}"></div>')
    description = body.paragraphs[0][:100]
    data = _window_data(article_id, title, media, pubtime, description, {
        "originContent": {"directory": {"enable": 2}, "text": "".join(origin), "version": "v1"},
        "originAttribute": attributes})
    content = (f'<div class="content-article"><h1>{title}</h1><div id="ArticleAuthor"><p class="media-name">'
               f'{media}</p><p class="media-meta"><span>{pubtime[:16]}</span><span>发布于北京</span></p></div>'
               f'<div id="ArticleContent"><div class="article-content-wrap ">{"".join(rendered)}</div></div>'
               f'<div id="Status"><div class="article-status"><div class="statement">免责声明：本内容来自腾讯平台'
               f'创作者，不代表腾讯新闻或腾讯网的观点和立场。</div></div></div></div>')
    return _page(rng, text, target, data, content, title, description)


def _rich_media(rng, text, article_id, title, media, pubtime, target) -> str:
    body = _body(rng, text)
    parts = []
    for i, paragraph in enumerate(body.paragraphs):
        parts.append(f"<p><strong>{paragraph}</strong></p>" if i in body.subheads else f"<p>{paragraph}</p>")
        for url, caption in _images_after(body, i):
            parts.append(f'<p><img data-src="{url}" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" '
                         f'alt="{caption}" class="rich_pages"></p>')
    if rng.random() < 0.3:  # the advert qq appends after some bodies
        parts.append(f'<div class="comps-contentify-wrap"><p><img src="{_cdn_image(rng)}"></p></div>')
    description = body.paragraphs[0][:100]
    data = _window_data(article_id, title, media, pubtime, description, {})
    content = (f'<div class="content-article"><h1>{title}</h1><div class="media-info"><p class="media-name">'
               f'{media}</p></div><div class="rich_media_content " id="js_content">{"".join(parts)}</div></div>')
    return _page(rng, text, target, data, content, title, description)


def _omn(rng, text, article_id, title, media, pubtime, target) -> str:
    body = _body(rng, text)
    parts = [f'<div class="introduction">{body.paragraphs[0][:120]}</div>']
    for i, paragraph in enumerate(body.paragraphs):
        parts.append(f'<p class="one-p"><strong>{paragraph}</strong></p>' if i in body.subheads
                     else f'<p class="one-p">{paragraph}</p>')
        for url, caption in _images_after(body, i):
            url = url.replace("https:", "")
            parts.append(f'<p class="one-p"><img src="{url}" class="content-picture">'
                         + (f'<i class="desc">{caption}</i>' if caption else "") + "</p>")
    data = ("<script>window.DATA = " + json.dumps({
        "article_id": article_id[:14], "article_type": "0", "title": title, "catalog1": "social",
        "introduction": body.paragraphs[0][:120], "media": media, "media_id": "5183008", "pubtime": pubtime,
        "comment_id": "4144260314", "tags": "", "political": 0, "cms_id": article_id, "videoArr": [],
    }, ensure_ascii=False, indent="\t") + "\n</script>"
        f'<meta name="apub:time" content="{pubtime}">')
    sprite = "".join(f'<symbol id="icon-{i}" viewBox="0 0 1024 1024"><path d="M{rng.randint(0, 999)} '
                     f'{rng.randint(0, 999)}L{rng.randint(0, 999)} {rng.randint(0, 999)}Z"></path></symbol>'
                     for i in range(40))
    content = (f'<svg aria-hidden="true" style="display:none">{sprite}</svg>'
               f'<h1>{title}</h1><div class="content clearfix"><div class="LeftTool"><div class="share">分享'
               f'</div></div><div class="content-article">{"".join(parts)}<div id="Status"><div '
               f'class="article-status"></div></div></div></div>')
    return _page(rng, text, target, data, content, title, body.paragraphs[0][:100])


def _legacy(rng, text, channel, date, number, title, media, pubtime, target) -> str:
    body = _body(rng, text)
    parts = [f"<p>{media} {pubtime[5:7]}月{pubtime[8:10]}日报道</p>"]
    for i, paragraph in enumerate(body.paragraphs):
        if i in body.subheads:
            parts.append(f"<p><strong>{paragraph}</strong></p>")
            continue
        if rng.random() < 0.2:
            cut = len(paragraph) // 2
            paragraph = (f'{paragraph[:cut]}<a class="a-tips-Article-QQ" href="http://stockhtm.finance.qq.com/'
                         f'hk/ggcx/00700.htm" target="_blank">腾讯</a>{paragraph[cut:]}')
        parts.append(f'<p style="TEXT-INDENT: 2em">{paragraph}</p>')
        for url, _ in _images_after(body, i):
            url = f"http://img1.gtimg.com/{channel}/pics/hv1/{rng.randint(1, 255)}/{rng.randint(1, 255)}/" \
                  f"{rng.randint(1000, 9999)}/{rng.randint(10**8, 10**9)}.jpg"
            parts.append(f'<p align="center"><img alt="" src="{url}"></p>')
    parts.append('<p><a href="http://www.qq.com/">返回腾讯网首页&gt;&gt;</a></p>')
    info = (f"<script type=\"text/javascript\">ARTICLE_INFO = window.ARTICLE_INFO || {{ site: '{channel}', "
            f"site_cname: '科技', site_url: 'http://{channel}.qq.com', title: '{title}', "
            f"id: '{date}{number}', pubtime: '{pubtime[:4]}年{pubtime[5:7]}月{pubtime[8:10]}日{pubtime[11:16]}', "
            f"type: '', article_url: 'http://{channel}.qq.com/a/{date}/{number}.htm', sosokeys: {{}}, "
            f"tags: [], catalog: 'web' }}</script>")
    head = f'<meta http-equiv="Content-Type" content="text/html; charset=gb2312">{info}'
    content = (f'<div id="Main-Article-QQ" class="wrapper"><div class="main"><div id="C-Main-Article-QQ">'
               f'<div class="hd"><h1>{title}</h1><div class="tit-bar"><span class="where">{media}</span>'
               f'<span class="pubTime">{pubtime[:16]}</span></div></div><div class="bd">'
               f'<div id="Cnt-Main-Article-QQ"><div class="mbArticleSharePic"></div>{"".join(parts)}</div>'
               f'</div></div></div></div>')
    return _page(rng, text, target, head, content, title, body.paragraphs[0][:100]).replace(
        "_腾讯新闻</title>", "_腾讯科技</title>")


# --- the site -----------------------------------------------------------------------------------------

def generate_site(site_dir: Path, articles: int, seed: int = 1) -> list[GeneratedArticle]:
    """Write `articles` pages, the sitemaps listing them and urls.txt into `site_dir`."""
    rng = random.Random(seed)
    text = _Text(rng)
    (site_dir / "pages").mkdir(parents=True, exist_ok=True)
    (site_dir / "legacy").mkdir(parents=True, exist_ok=True)
    (site_dir / "sitemap").mkdir(parents=True, exist_ok=True)
    layouts = [name for name, _ in LAYOUT_SHARES]
    weights = [share for _, share in LAYOUT_SHARES]
    generated: list[GeneratedArticle] = []
    seen: set[str] = set()
    while len(generated) < articles:
        layout = rng.choices(layouts, weights)[0]
        low, high = SIZE_RANGES_KB[layout]
        target = int(rng.triangular(low, high, low + (high - low) / 3) * 1024)
        title, media = text.title(), rng.choice(_MEDIA)
        if layout == "legacy":
            day = dt.date(2009, 1, 1) + dt.timedelta(days=rng.randrange(3600))
            channel, date, number = rng.choice(LEGACY_CHANNELS), f"{day:%Y%m%d}", f"{rng.randrange(10**6):06d}"
            article_id = f"{channel}_{date}_{number}"
            pubtime = f"{day:%Y-%m-%d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00"
            html = _legacy(rng, text, channel, date, number, title, media, pubtime, target)
            path = f"/{channel}/a/{date}/{number}.htm"
            file = site_dir / "legacy" / f"{article_id}.htm"
            data = html.encode("gb18030")
        else:
            first = dt.date(2017, 1, 1) if layout == "omn" else dt.date(2021, 1, 1)
            day = first + dt.timedelta(days=rng.randrange(1500))
            article_id = _random_id(rng, day)
            pubtime = f"{day:%Y-%m-%d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
            build = {"rain": _rain, "rich_media": _rich_media, "omn": _omn}[layout]
            html = build(rng, text, article_id, title, media, pubtime, target)
            path = f"/rain/a/{article_id}"
            file = site_dir / "pages" / f"{article_id}.html"
            data = html.encode("utf-8")
        if article_id in seen:
            continue
        seen.add(article_id)
        file.write_bytes(data)
        generated.append(GeneratedArticle(article_id, layout, path, file, pubtime))
    _write_sitemaps(site_dir, generated)
    (site_dir / "urls.txt").write_text("".join(f"{{{{BASE}}}}{item.path}\n" for item in generated))
    return generated


def _write_sitemaps(site_dir: Path, generated: list[GeneratedArticle]) -> None:
    names = []
    for start in range(0, len(generated), SITEMAP_CHUNK):
        name = f"sitemap_{start // SITEMAP_CHUNK + 1}"
        names.append(name)
        entries = "".join(f"<url><loc>{{{{BASE}}}}{item.path}</loc><lastmod>{item.published[:10]}</lastmod>"
                          f"<changefreq>never</changefreq></url>\n"
                          for item in generated[start: start + SITEMAP_CHUNK])
        (site_dir / "sitemap" / f"{name}.xml").write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{entries}</urlset>\n')
    children = "".join(f"<sitemap><loc>{{{{BASE}}}}/sitemap/{name}.xml</loc></sitemap>\n" for name in names)
    (site_dir / "sitemap" / "index.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{children}</sitemapindex>\n')


def write_feed(site_dir: Path, article_ids: list[str], channels: list[str], pages: int, item_count: int) -> None:
    """Feed pages `feed/<channel>/<n>.json` that list `article_ids`, in order."""
    ids = iter(article_ids)
    for channel in channels:
        folder = site_dir / "feed" / channel
        folder.mkdir(parents=True, exist_ok=True)
        for page in range(1, pages + 1):
            items = []
            for article_id in ids:
                items.append({"id": article_id, "title": f"标题{article_id}", "articletype": "0",
                              "publish_time": f"{article_id[:4]}-{article_id[4:6]}-{article_id[6:8]} 08:00:00",
                              "link_info": {"url": f"https://new.qq.com/rain/a/{article_id}"},
                              "pic_info": {"big_img": [f"https://inews.gtimg.com/om_bt/{article_id}/0"]},
                              "media_info": {"chl_name": "经济日报"}})
                if len(items) == item_count:
                    break
            (folder / f"{page}.json").write_text(json.dumps({"ret": 0, "data": items}, ensure_ascii=False),
                                                 encoding="utf-8")
