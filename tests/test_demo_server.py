"""The fixture server (archiver/demo/server.py): routes, scripting, request log."""

from __future__ import annotations

import gzip
import http.client
import json
import threading
import time

import pytest
import requests

from stand_in import DEFAULT_SITE_DIR, StandIn, Reply

GOLDEN = "20250212A03JWP00"
FEED_QUERY = {"base_req": {"from": "pc"}, "forward": "1", "qimei36": "x", "device_id": "x",
              "flush_num": 1, "channel_id": "news_news_finance", "item_count": 12, "is_local_chlid": "0"}


@pytest.fixture
def server():
    with StandIn() as running:
        yield running


def raw_get(server: StandIn, path: str) -> int:
    """GET a path exactly as written (no client-side normalisation of `..`)."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_settings_point_a_crawl_at_the_server(server):
    base = server.base_url
    assert base.startswith("http://127.0.0.1:") and server.port > 0
    assert server.settings() == {
        "QQ_FEED_URL": f"{base}/web_feed/getPCList",
        "QQ_SITEMAP_URL": f"{base}/sitemap/index.xml",
        "QQ_ARTICLE_URL": f"{base}/rain/a/{{id}}",
        "QQ_LEGACY_ARTICLE_URL": f"{base}/{{channel}}/a/{{date}}/{{number}}.htm",
    }


def test_base_url_needs_a_started_server_and_stop_is_idempotent():
    server = StandIn()
    with pytest.raises(RuntimeError):
        server.base_url
    server.start()
    server.stop()
    server.stop()


def test_robots_txt_names_the_sitemap_on_this_server(server):
    response = requests.get(server.url("/robots.txt"), timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert "Disallow: /private/" in response.text
    assert f"Sitemap: {server.base_url}/sitemap/index.xml" in response.text, response.text


def test_article_page_is_served_whatever_the_query(server):
    response = requests.get(server.url(f"/rain/a/{GOLDEN}?uid=1&suid=2"), timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.content == (DEFAULT_SITE_DIR / "pages" / f"{GOLDEN}.html").read_bytes()


def test_legacy_page_is_gbk_bytes_without_a_charset_header(server):
    response = requests.get(server.url("/finance/a/20180923/000843.htm"), timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html"
    with pytest.raises(UnicodeDecodeError):
        response.content.decode("utf-8")
    assert "返回腾讯网首页" in response.content.decode("gbk")


@pytest.mark.parametrize("path", ["/rain/a/20990101A00000000", "/nothing/here", "/rain/a/", "/finance/a/20180923/999999.htm"])
def test_unknown_paths_are_404(server, path):
    response = requests.get(server.url(path), timeout=5)
    assert response.status_code == 404, path
    assert "text/html" in response.headers["Content-Type"]


def test_feed_serves_the_channel_page_asked_for(server):
    response = requests.post(server.url("/web_feed/getPCList"), json=FEED_QUERY, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    expected = json.loads((DEFAULT_SITE_DIR / "feed/news_news_finance/1.json").read_text(encoding="utf-8"))
    assert response.json() == expected


def test_feed_past_the_last_page_is_empty(server):
    response = requests.post(server.url("/web_feed/getPCList"), json={**FEED_QUERY, "flush_num": 99}, timeout=5)
    assert response.status_code == 200
    assert response.json() == {"ret": 0, "data": []}


@pytest.mark.parametrize("body", [
    b"not json",
    b"[1, 2]",
    json.dumps({**FEED_QUERY, "channel_id": "../../etc"}).encode(),
    json.dumps({**FEED_QUERY, "channel_id": "news/../../x"}).encode(),
    json.dumps({**FEED_QUERY, "flush_num": "1"}).encode(),
    json.dumps({**FEED_QUERY, "flush_num": True}).encode(),
    json.dumps({"channel_id": "news_news_finance"}).encode(),
])
def test_feed_refuses_bad_queries(server, body):
    response = requests.post(server.url("/web_feed/getPCList"), data=body, timeout=5)
    assert response.status_code == 400, body


def test_feed_is_post_only(server):
    assert requests.get(server.url("/web_feed/getPCList"), timeout=5).status_code == 404


def test_sitemap_index_points_at_child_sitemaps_on_this_server(server):
    response = requests.get(server.url("/sitemap/index.xml"), timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/xml")
    assert "{{BASE}}" not in response.text
    assert f"<loc>{server.base_url}/sitemap/sitemap_1.xml</loc>" in response.text
    assert f"<loc>{server.base_url}/sitemap/sitemap_2.xml</loc>" in response.text
    child = requests.get(server.url("/sitemap/sitemap_2.xml"), timeout=5)
    assert "https://news.qq.com/rain/a/20251125A06TUV00" in child.text


def test_gzipped_sitemap_is_made_from_the_xml_when_no_gz_file_exists(server):
    response = requests.get(server.url("/sitemap/index.xml.gz"), timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/x-gzip"
    text = gzip.decompress(response.content).decode("utf-8")
    assert f"{server.base_url}/sitemap/sitemap_1.xml" in text


@pytest.mark.parametrize("path", [
    "/rain/a/../../../etc/passwd",
    "/rain/a/..%2F..%2Frobots.txt",
    "/rain/a/%2e%2e%2fREADME",
    "/sitemap/../robots.txt",
    "/sitemap/..%2Findex.xml",
    "/../a/20180923/000843.htm",
    "/finance/a/20180923/../../../pages/x.htm",
])
def test_paths_outside_the_site_are_refused(server, path):
    assert raw_get(server, path) == 404, path


def test_script_answers_in_order_then_serves_normally(server):
    path = f"/rain/a/{GOLDEN}"
    server.script(path + "?ignored=1", [
        Reply(567, b"slow down"),
        "pass",
        Reply(302, headers={"Location": "https://www.qq.com/babygohome/?pgv_ref=404"}),
    ])
    first = requests.get(server.url(path), timeout=5)
    assert (first.status_code, first.content) == (567, b"slow down")
    assert requests.get(server.url(path), timeout=5).status_code == 200
    redirect = requests.get(server.url(path), allow_redirects=False, timeout=5)
    assert redirect.status_code == 302
    assert redirect.headers["Location"] == "https://www.qq.com/babygohome/?pgv_ref=404"
    assert requests.get(server.url(path), timeout=5).status_code == 200
    other = requests.get(server.url("/rain/a/20251120A01ABC00"), timeout=5)
    assert other.status_code == 200, "a script must only affect its own path"


def test_script_replaces_an_earlier_script_and_checks_its_entries(server):
    server.script("/x", [Reply(500), Reply(500)])
    server.script("/x", [Reply(201, b"new")])
    assert requests.get(server.url("/x"), timeout=5).status_code == 201
    assert requests.get(server.url("/x"), timeout=5).status_code == 404
    with pytest.raises(TypeError):
        server.script("/x", [500])


def test_scripted_reset_drops_the_connection(server):
    server.script("/rain/a/20251120A01ABC00", [Reply(reset=True)])
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url("/rain/a/20251120A01ABC00"), timeout=5)
    assert requests.get(server.url("/rain/a/20251120A01ABC00"), timeout=5).status_code == 200
    assert server.count("/rain/a/20251120A01ABC00") == 2


def test_scripted_delay_lets_a_client_time_out(server):
    server.script("/slow", [Reply(200, b"late", delay=1.0)])
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        requests.get(server.url("/slow"), timeout=0.2)
    assert time.monotonic() - started < 0.9
    assert requests.get(server.url("/robots.txt"), timeout=5).status_code == 200, "the server must stay responsive"


def test_wait_until_answered_waits_for_a_slow_answer(server):
    server.script("/slow", [Reply(body=b"late", delay=0.6)])
    client = threading.Thread(target=requests.get, args=(server.url("/slow"),), kwargs={"timeout": 5})
    client.start()
    try:
        deadline = time.monotonic() + 5
        while not server.count("/slow") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.count("/slow") == 1
        assert server.wait_until_answered(timeout=0.1) is False  # still being answered
        assert server.wait_until_answered(timeout=5) is True
        assert server.requests[0].finished is not None
    finally:
        client.join()


def test_request_log_records_each_request(server):
    requests.post(server.url("/web_feed/getPCList?from=test"), json=FEED_QUERY,
                  headers={"Referer": "https://news.qq.com/"}, timeout=5)
    requests.get(server.url(f"/rain/a/{GOLDEN}?a=1"), timeout=5)
    assert server.wait_until_answered()  # the handler logs `finished` just after the client has its answer
    log = server.requests
    assert [(r.method, r.path, r.query) for r in log] == [
        ("POST", "/web_feed/getPCList", "from=test"),
        ("GET", f"/rain/a/{GOLDEN}", "a=1"),
    ]
    assert json.loads(log[0].body) == FEED_QUERY
    assert log[0].headers["Referer"] == "https://news.qq.com/"
    assert all(r.finished is not None and r.finished >= r.started for r in log)
    assert server.count("/rain/") == 1 and server.count("/") == 2
    server.reset_log()
    assert server.requests == [] and server.count() == 0


def test_max_in_flight_counts_requests_handled_at_once(server):
    path = "/rain/a/20251121A02DEF00"
    server.script(path, [Reply(200, b"ok", delay=1.5)] * 5)
    threads = [threading.Thread(target=requests.get, args=(server.url(path),), kwargs={"timeout": 5}) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert server.max_in_flight == 5
    server.reset_log()
    for _ in range(3):
        requests.get(server.url(path), timeout=5)
        # The client has its answer a moment before the handler thread counts itself done.
        assert server.wait_until_answered()
    assert server.max_in_flight == 1


def test_keep_alive_connection_serves_many_requests(server):
    with requests.Session() as session:
        for _ in range(3):
            assert session.get(server.url(f"/rain/a/{GOLDEN}"), timeout=5).status_code == 200
            assert session.post(server.url("/web_feed/getPCList"), json=FEED_QUERY, timeout=5).status_code == 200
            assert session.get(server.url("/missing"), timeout=5).status_code == 404
    assert server.count() == 9
