"""The dashboard through the app's test client: sign-in and its cookie, who sees what, every page's
figures against /usage, and hostile query values as 4xx pages (tests/test_dashboard_browser.py
drives the same pages in Chromium)."""
import base64
import json
import re
import zlib
from datetime import timedelta
from http.cookies import SimpleCookie

import pytest

from inference_gateway.store.tables import utcnow

from .dashboard_seed import SYNCED_AGO, csrf_of, seed

P = "/api/v1/inference"
ADMIN_KEY, CALLER_KEY = "admin-key-for-dashboard", "static-caller-key"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "GATEWAY_ADMIN_KEYS": ADMIN_KEY, "GATEWAY_API_KEYS": CALLER_KEY}


@pytest.fixture
def seeded(app):
    with app.app_context():
        return seed()


def sign_in(client, key):
    page = client.get("/dashboard/sign-in")
    assert page.status_code == 200
    return client.post("/dashboard/sign-in", data={"key": key, "csrf": csrf_of(page.get_data(as_text=True))})


def totals_on(html):
    return {name: float(re.search(rf'id="total-{name}" data-value="([^"]*)"', html).group(1))
            for name in ("requests", "errors", "tokens", "cost")}


def usage_totals(client, key, **query):
    resp = client.get(P + "/usage", query_string=query, headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code == 200, resp.get_json()
    s = resp.get_json()["data"]["summary"]
    return {"requests": s["totalRequests"], "errors": s["totalErrors"], "tokens": s["totalTokens"],
            "cost": s["totalCostUsd"]}


def chart_data(html):
    return json.loads(re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', html, re.S).group(1))


def test_pages_need_a_signed_in_session(client, seeded):
    for path in ("/dashboard/", "/dashboard/requests", "/dashboard/providers", "/dashboard/keys",
                 "/dashboard/requests/seed0001"):
        resp = client.get(path)
        assert resp.status_code == 302 and "/dashboard/sign-in" in resp.headers["Location"], path
    # A key header does not sign a page in: only the session does.
    assert client.get("/dashboard/", headers={"Authorization": f"Bearer {ADMIN_KEY}"}).status_code == 302


def test_sign_in_sets_a_signed_http_only_strict_cookie_without_the_key(client, seeded):
    resp = sign_in(client, ADMIN_KEY)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/dashboard/")
    header = [h for h in resp.headers.getlist("Set-Cookie") if h.startswith("igw_dashboard=")][-1]
    attrs = {part.strip().split("=")[0].lower() for part in header.split(";")}
    assert {"httponly", "path", "expires"} <= attrs and "SameSite=Strict" in header and "Path=/dashboard" in header
    value = SimpleCookie(header)["igw_dashboard"].value
    # itsdangerous: [.]payload.timestamp.signature, a leading dot when the payload is zlib-compressed.
    payload = value.lstrip(".").split(".")[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    decoded = zlib.decompress(decoded) if value.startswith(".") else decoded
    assert ADMIN_KEY.encode() not in decoded and b"static" in decoded
    page = client.get("/dashboard/")
    assert page.status_code == 200 and ADMIN_KEY not in page.get_data(as_text=True)
    # A forged or altered cookie is no session.
    client.set_cookie("igw_dashboard", payload + ".forged.signature", path="/dashboard")
    assert client.get("/dashboard/").status_code == 302


def test_sign_in_refuses_a_wrong_key_and_a_post_without_the_form_token(client, seeded):
    page = client.get("/dashboard/sign-in")
    assert "csrf" in page.get_data(as_text=True)
    wrong = sign_in(client, "not-a-key")
    assert wrong.status_code == 401 and "not a key of this gateway" in wrong.get_data(as_text=True)
    assert client.post("/dashboard/sign-in", data={"key": ADMIN_KEY}).status_code == 403
    assert client.post("/dashboard/sign-in", data={"key": ADMIN_KEY, "csrf": "guess"}).status_code == 403
    assert client.get("/dashboard/").status_code == 302


def test_sign_out_needs_the_form_token_and_ends_the_session(client, seeded):
    sign_in(client, ADMIN_KEY)
    html = client.get("/dashboard/").get_data(as_text=True)
    assert client.post("/dashboard/sign-out", data={}).status_code == 403
    assert client.get("/dashboard/").status_code == 200
    resp = client.post("/dashboard/sign-out", data={"csrf": csrf_of(html)})
    assert resp.status_code == 303
    assert client.get("/dashboard/").status_code == 302


def test_after_sign_in_the_page_asked_for_opens_and_never_another_site(client, seeded):
    page = client.get("/dashboard/sign-in?next=/dashboard/providers")
    resp = client.post("/dashboard/sign-in", data={"key": ADMIN_KEY, "next": "/dashboard/providers",
                                                   "csrf": csrf_of(page.get_data(as_text=True))})
    assert resp.headers["Location"].endswith("/dashboard/providers")
    page = client.get("/dashboard/sign-in")
    resp = client.post("/dashboard/sign-in", data={"key": ADMIN_KEY, "next": "//evil.example/dashboard",
                                                   "csrf": csrf_of(page.get_data(as_text=True))})
    assert resp.headers["Location"].endswith("/dashboard/")


def test_the_overview_totals_match_usage_for_the_same_range(client, seeded):
    sign_in(client, ADMIN_KEY)
    html = client.get("/dashboard/?range=day").get_data(as_text=True)
    since = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    expected = usage_totals(client, ADMIN_KEY, since=since)
    assert expected["requests"] == 120 and expected["errors"] > 0
    got = totals_on(html)
    assert got == pytest.approx(expected)
    charts = chart_data(html)
    # One series per provider, one point per hour of the range, summing to the totals.
    assert sorted(s["name"] for s in charts["requests"]["series"]) == ["anthropic", "openai"]
    assert len(charts["requests"]["x"]) in (24, 25)
    assert sum(sum(s["y"]) for s in charts["requests"]["series"]) == 120
    assert sum(charts["errors"]["series"][0]["y"]) == expected["errors"]
    assert sum(charts["tokens"]["series"][0]["y"]) + sum(charts["tokens"]["series"][1]["y"]) == expected["tokens"]
    assert sum(sum(s["y"]) for s in charts["cost"]["series"]) == pytest.approx(expected["cost"])
    codes = {code: n for code, n in zip(charts["errorMix"]["x"], charts["errorMix"]["series"][0]["y"])}
    assert sum(codes.values()) == expected["errors"] and set(codes) == {"UPSTREAM_ERROR", "RATE_LIMITED"}
    assert charts["latency"]["x"] and all(charts["latency"]["series"][0]["y"])


def test_the_week_is_drawn_by_the_day_and_filters_narrow_every_figure(client, seeded):
    sign_in(client, ADMIN_KEY)
    week = client.get("/dashboard/?range=week").get_data(as_text=True)
    assert totals_on(week)["requests"] == 126
    assert len(chart_data(week)["requests"]["x"]) == 8
    html = client.get("/dashboard/?range=week&provider=anthropic").get_data(as_text=True)
    anthropic = [r for r in seeded.rows if r["provider_name"] == "anthropic"]
    assert totals_on(html)["requests"] == len(anthropic)
    assert [s["name"] for s in chart_data(html)["requests"]["series"]] == ["anthropic"]
    key_a = seeded.keys["team-a"][0]
    html = client.get(f"/dashboard/?range=week&key={key_a}&model=gpt-4o").get_data(as_text=True)
    assert totals_on(html)["requests"] == len([r for r in seeded.of_key(key_a) if r["model"] == "gpt-4o"])


def test_a_caller_key_sees_only_its_own_rows(client, seeded):
    (key_a, secret_a), (key_b, _) = seeded.keys["team-a"], seeded.keys["team-b"]
    assert sign_in(client, secret_a).status_code == 303
    mine = seeded.of_key(key_a)
    # The key filter cannot widen a caller's view to another key.
    for query in ("range=week", f"range=week&key={key_b}"):
        html = client.get("/dashboard/?" + query).get_data(as_text=True)
        assert totals_on(html)["requests"] == len(mine)
    listed = set(re.findall(r'data-id="(seed\d+)"', client.get("/dashboard/requests?range=week").get_data(as_text=True)))
    assert listed and listed <= {r["id"] for r in mine}
    other = seeded.of_key(key_b)[0]["id"]
    assert client.get(f"/dashboard/requests/{other}").status_code == 404
    assert client.get(f"/dashboard/requests/{mine[0]['id']}").status_code == 200
    keys_page = client.get("/dashboard/keys")
    assert keys_page.status_code == 403 and "admin" in keys_page.get_data(as_text=True)
    assert 'href="/dashboard/keys"' not in client.get("/dashboard/providers").get_data(as_text=True)


def test_a_static_caller_key_sees_every_row_as_on_usage_but_not_the_keys(client, seeded):
    sign_in(client, CALLER_KEY)
    html = client.get("/dashboard/?range=week").get_data(as_text=True)
    assert totals_on(html)["requests"] == 126
    assert client.get("/dashboard/keys").status_code == 403


def test_a_revoked_key_is_signed_out(client, seeded):
    key_a, secret_a = seeded.keys["team-a"]
    sign_in(client, secret_a)
    assert client.get("/dashboard/").status_code == 200
    assert client.delete(f"{P}/keys/{key_a}", headers={"Authorization": f"Bearer {ADMIN_KEY}"}).status_code == 200
    assert client.get("/dashboard/").status_code == 302
    assert sign_in(client, secret_a).status_code == 401


def test_the_requests_table_pages_with_the_usage_cursor(client, seeded):
    sign_in(client, ADMIN_KEY)
    first = client.get("/dashboard/requests?range=week").get_data(as_text=True)
    ids = re.findall(r'data-id="(seed\d+)"', first)
    assert ids == [f"seed{i:04d}" for i in range(50)]
    older = re.search(r'id="next-page" rel="next" href="([^"]+)"|href="([^"]+)" id="next-page"', first)
    link = (older.group(1) or older.group(2)).replace("&amp;", "&")
    assert "range=week" in link and "cursor=" in link
    second = re.findall(r'data-id="(seed\d+)"', client.get(link).get_data(as_text=True))
    assert second == [f"seed{i:04d}" for i in range(50, 100)]


def test_the_request_detail_shows_the_row_and_bodies_only_when_logged(client, seeded, app):
    sign_in(client, ADMIN_KEY)
    html = client.get("/dashboard/requests/req-0007").get_data(as_text=True)  # by X-Request-Id too
    assert "seed0007" in html and "UPSTREAM_ERROR" in html and "gpt-4o-mini" in html
    assert "LOG_BODIES" in html and 'id="request-body"' not in html
    from inference_gateway.store.tables import RequestLog

    with app.app_context():
        RequestLog.update(request_body='{"messages": "<b>hi</b>"}', response_body="done").where(
            RequestLog.id == "seed0008").execute()
    html = client.get("/dashboard/requests/seed0008").get_data(as_text=True)
    assert 'id="request-body"' in html and "&lt;b&gt;hi&lt;/b&gt;" in html and "<b>hi</b>" not in html


def test_providers_show_model_count_last_sync_and_the_health_get_providers_reports(client, seeded):
    from inference_gateway.gateway import health

    sign_in(client, ADMIN_KEY)
    windows = health.windows()
    anthropic = seeded.providers["anthropic"]
    for latency in (400, 420, 440, 460):
        windows.observe(anthropic, latency, 150)
    windows.observe(anthropic, 90, None, error="UPSTREAM_TIMEOUT: no answer in 120 s")
    html = client.get("/dashboard/providers").get_data(as_text=True)
    cards = dict(re.findall(r'data-name="(\w+)">(.*?)</article>', html, re.S))
    synced = (seeded.now - SYNCED_AGO).strftime("%Y-%m-%d %H:%M:%S")
    assert re.search(r'class="model-count">3<', cards["openai"]) and synced in cards["openai"]
    assert re.search(r'class="model-count">0<', cards["anthropic"]) and "never synced" in cards["anthropic"]
    api = {p["name"]: p["health"] for p in client.get(P + "/providers", headers={
        "Authorization": f"Bearer {ADMIN_KEY}"}).get_json()["data"]}
    assert api["anthropic"]["state"] == "degraded" and api["anthropic"]["errorRate"] == 0.2
    assert 'class="health degraded"' in cards["anthropic"] and "20.0%" in cards["anthropic"]
    assert f"{api['anthropic']['p50LatencyMs']:,} ms" in cards["anthropic"] and "UPSTREAM_TIMEOUT" in cards["anthropic"]
    # No call in the window: healthy by the API's word, no figures made up.
    assert api["openai"]["errorRate"] is None and 'class="health healthy"' in cards["openai"]
    assert "<dt>Error rate</dt><dd>–</dd>" in cards["openai"]


def test_the_keys_page_shows_spend_against_budget_and_last_use(client, seeded):
    sign_in(client, ADMIN_KEY)
    html = client.get("/dashboard/keys").get_data(as_text=True)
    key_a = seeded.keys["team-a"][0]
    row = re.search(rf'<tr data-id="{key_a}">(.*?)</tr>', html, re.S).group(1)
    assert "of $5.00" in row and "month" in row and "600 rpm" in row and "never" not in row.split("last-used")[1][:40]


@pytest.mark.parametrize("query", [
    "range=forever", "range=custom", "range=custom&since=yesterday", "range=custom&since=2026-13-45",
    "range=custom&since=1000-01-01", "range=custom&since=2020-01-01&until=2026-01-01",
    "range=custom&since=2026-03-02&until=2026-03-01", "range=day&since=2026-03-01", "since=%00",
    "provider=%00", "model=" + "m" * 400, "provider=nope", "status=weird", "cursor=!!!", "cursor=" + "A" * 300,
    "range=day&range=week", "bogus=1", "key=" + "k" * 40,
])
@pytest.mark.parametrize("path", ["/dashboard/", "/dashboard/requests"])
def test_hostile_query_values_are_a_4xx_page(client, seeded, path, query):
    sign_in(client, ADMIN_KEY)
    resp = client.get(f"{path}?{query}")
    assert 400 <= resp.status_code < 500, (query, resp.status_code)
    assert resp.mimetype == "text/html" and "<h1>" in resp.get_data(as_text=True)


def test_open_mode_needs_no_sign_in(app_config):
    from inference_gateway import create_app

    client = create_app({**app_config, "GATEWAY_ADMIN_KEYS": "", "GATEWAY_API_KEYS": ""}).test_client()
    assert client.get("/dashboard/").status_code == 200
    assert client.get("/dashboard/keys").status_code == 200
    assert client.get("/dashboard/sign-in").status_code == 302
    # Open mode serves loopback names only, the dashboard included.
    assert client.get("/dashboard/", headers={"Host": "evil.example"}).status_code == 403


def test_an_unknown_dashboard_page_is_a_404_page(client):
    resp = client.get("/dashboard/nope")
    assert resp.status_code == 404 and resp.mimetype == "text/html" and "no such dashboard page" in resp.get_data(
        as_text=True)
    assert client.get("/api/v1/inference/nope").mimetype == "application/json"


def test_the_charting_library_is_served_by_the_gateway(client):
    resp = client.get("/dashboard/assets/plotly.min.js")
    assert resp.status_code == 200 and b"plotly.js" in resp.data[:200]
    assert client.get("/dashboard/assets/dashboard.css").status_code == 200
    assert client.get("/dashboard/assets/..%2Fpages.py").status_code == 404
    page = client.get("/dashboard/sign-in").get_data(as_text=True)
    assert "http://" not in page and "https://" not in page  # nothing from another host


def test_the_session_secret_is_kept_per_data_dir_unless_set(app_config, tmp_path):
    from inference_gateway import create_app

    first, second = create_app(app_config), create_app(app_config)
    assert not (tmp_path / "dashboard-secret").exists()  # made by the first dashboard request
    for app in (first, second):
        assert app.test_client().get("/dashboard/sign-in").status_code == 200
    assert first.secret_key == second.secret_key and len(first.secret_key) >= 32
    assert (tmp_path / "dashboard-secret").stat().st_mode & 0o077 == 0
    # A session signed by one instance sharing the secret is good on the other.
    client = first.test_client()
    sign_in(client, ADMIN_KEY)
    cookie = client.get_cookie("igw_dashboard", path="/dashboard")
    other = second.test_client()
    other.set_cookie("igw_dashboard", cookie.value, path="/dashboard")
    assert other.get("/dashboard/").status_code == 200
    set_secret = create_app({**app_config, "DASHBOARD_SECRET": "s" * 40})
    set_secret.test_client().get("/dashboard/sign-in")
    assert set_secret.secret_key == b"s" * 40


def test_a_dashboard_that_cannot_keep_its_secret_says_so_and_the_api_still_works(app_config, tmp_path):
    from inference_gateway import create_app

    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    app = create_app({**app_config, "DATA_DIR": str(blocker / "data")})
    client = app.test_client()
    page = client.get("/dashboard/sign-in")
    assert page.status_code == 503 and "DASHBOARD_SECRET" in page.get_data(as_text=True)
    assert client.get("/dashboard/").status_code == 503
    assert client.get(P + "/providers", headers={"Authorization": f"Bearer {ADMIN_KEY}"}).status_code == 200


def test_package_data_ships_every_template_and_asset():
    import configparser
    import fnmatch
    import pathlib

    import inference_gateway.web.dashboard as dashboard

    config = configparser.ConfigParser()
    config.read(pathlib.Path(__file__).parent.parent / "setup.cfg")
    globs = [g.strip() for g in config["options.package_data"]["inference_gateway.web.dashboard"].split(",")]
    root = pathlib.Path(dashboard.__file__).parent
    files = [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.suffix != ".pyc"
             and p.suffix != ".py"]
    assert files and all(any(fnmatch.fnmatch(f, g) for g in globs) for f in files), files


@pytest.mark.parametrize("form", [
    {"key": "igw_\x00nul"}, {"key": "x" * 100_000}, {"key": "%ED%A0%80"}, {"key": "%FF%FE"}, {"key": ""},
    {"key": ["a", "b"]},
    {"next": "javascript:alert(1)", "key": "nope"},
])
def test_hostile_sign_in_forms_are_a_4xx_page(client, form):
    page = client.get("/dashboard/sign-in")
    csrf = csrf_of(page.get_data(as_text=True))
    if str(form.get("key")).startswith("%"):  # bytes that are not UTF-8 (a lone surrogate, 0xFF)
        resp = client.post("/dashboard/sign-in", data=f"key={form['key']}&csrf={csrf}",
                           content_type="application/x-www-form-urlencoded")
    else:
        resp = client.post("/dashboard/sign-in", data={**form, "csrf": csrf})
    assert 400 <= resp.status_code < 500 and resp.mimetype == "text/html"
    assert "javascript:" not in resp.get_data(as_text=True).split('name="next"')[1][:80]


def test_empty_pages_say_so(app_config):
    from inference_gateway import create_app

    client = create_app({**app_config, "GATEWAY_ADMIN_KEYS": "", "GATEWAY_API_KEYS": ""}).test_client()
    assert "No calls in this range" in client.get("/dashboard/").get_data(as_text=True)
    assert "No requests" in client.get("/dashboard/requests").get_data(as_text=True)
    assert "No providers yet" in client.get("/dashboard/providers").get_data(as_text=True)
    assert "No virtual keys" in client.get("/dashboard/keys").get_data(as_text=True)


def test_a_routed_calls_route_and_attempts_show_on_its_detail(client, seeded, app):
    import json as json_

    from inference_gateway.store.tables import RequestLog

    sign_in(client, ADMIN_KEY)
    assert 'id="attempts"' not in client.get("/dashboard/requests/seed0001").get_data(as_text=True)
    failed = [{"provider": "anthropic", "model": "claude-sonnet-4-20250514", "code": "UPSTREAM_TIMEOUT",
               "status": 504}]
    with app.app_context():
        RequestLog.update(route="fast", attempts=2, failed_attempts=json_.dumps(failed)).where(
            RequestLog.id == "seed0001").execute()
    html = client.get("/dashboard/requests/seed0001").get_data(as_text=True)
    section = html.split('id="attempts"')[1].split("</section>")[0]
    assert "fast" in section and "2 tried" in section and "UPSTREAM_TIMEOUT" in section
    # The attempt that answered is the row's own provider and model.
    assert section.count("<tr>") == 3 and "gpt-4o-mini" in section and "failed" in section
