"""The dashboard in a real browser: headless Chromium (Debian's package, driven by Playwright from
PyPI) against gunicorn on seeded rows. Sign in, the overview's charts (series and points drawn by
plotly.js) and totals against /usage, filters in the URL, the request table's pages and a detail,
a caller seeing only its own key, no console errors. Every page's screenshot is written to
DASHBOARD_SCREENSHOTS (default: a temporary directory, printed)."""
import os
import re
import shutil
from datetime import datetime

import pytest
import requests

from inference_gateway import create_app
from inference_gateway.store import db
from inference_gateway.store.usage_series import bucket_starts

from .dashboard_seed import seed
from .live import Gunicorn
from .prism import unavailable

P = "/api/v1/inference"
ADMIN_KEY = "browser-admin-key"
SPAN = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC to (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC")


def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        unavailable("chromium is not installed: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed: pip install '.[test]'")
    return path, sync_playwright


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """gunicorn on a SQLite file holding the seeded rows, and a Chromium to look at it."""
    browser_path, sync_playwright = chromium()
    tmp = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{tmp}/gateway.db"
    app = create_app({"DATABASE_URL": url, "DATA_DIR": str(tmp), "GATEWAY_ADMIN_KEYS": ADMIN_KEY,
                      "GATEWAY_API_KEYS": "", "LOG_LEVEL": "WARNING"})
    with app.app_context():
        seeded = seed()
    db.database.close()
    server = Gunicorn(tmp, url, GATEWAY_ADMIN_KEYS=ADMIN_KEY, DATA_DIR=str(tmp), LOG_LEVEL="WARNING").start()
    shots = os.environ.get("DASHBOARD_SCREENSHOTS") or str(tmp / "screenshots")
    os.makedirs(shots, exist_ok=True)
    print(f"\ndashboard screenshots: {shots}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=browser_path,
                                             args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
        yield Site(server.url, seeded, browser, shots)
        browser.close()
    server.stop()


class Site:
    def __init__(self, url, seeded, browser, shots):
        self.url, self.seeded, self.browser, self.shots = url, seeded, browser, shots

    def session(self, key):
        """A fresh browser context signed in with `key` through the form; console errors collected."""
        context = self.browser.new_context(viewport={"width": 1360, "height": 900})
        page = context.new_page()
        page.problems = []
        page.on("console", lambda m: page.problems.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: page.problems.append(str(e)))
        page.goto(self.url + "/dashboard/")
        assert "/dashboard/sign-in" in page.url
        page.fill("input[name=key]", key)
        page.click("button[type=submit]")
        page.wait_for_url(self.url + "/dashboard/")
        return context, page

    def shot(self, page, name):
        page.screenshot(path=os.path.join(self.shots, f"{name}.png"), full_page=True)

    def usage(self, bearer, **query):
        resp = requests.get(self.url + P + "/usage", params=query, headers={"Authorization": f"Bearer {bearer}"},
                            timeout=10)
        assert resp.status_code == 200, resp.text
        return resp.json()["data"]


def charts_drawn(page):
    page.wait_for_selector("body[data-charts=drawn]", timeout=30000)


def drawn(page, chart):
    """(series, points per series) as plotly.js drew them: one SVG trace group per series, one
    marker path per point."""
    return page.eval_on_selector(f"#chart-{chart}", """el => Array.from(el.querySelectorAll('.scatterlayer .trace'))
        .map(t => t.querySelectorAll('.points path.point').length)""")


def bars_drawn(page, chart):
    return page.eval_on_selector(f"#chart-{chart}", """el => Array.from(el.querySelectorAll('.barlayer .trace'))
        .map(t => t.querySelectorAll('.point').length)""")


def shown_range(page):
    since, until = SPAN.search(page.inner_text(".span")).groups()
    return datetime.fromisoformat(since), datetime.fromisoformat(until)


def totals(page):
    return {name: float(page.get_attribute(f"#total-{name}", "data-value"))
            for name in ("requests", "errors", "tokens", "cost")}


def api_totals(data):
    s = data["summary"]
    return {"requests": s["totalRequests"], "errors": s["totalErrors"], "tokens": s["totalTokens"],
            "cost": s["totalCostUsd"]}


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_an_admin_signs_in_and_the_overview_draws_the_seeded_rows(site):
    context, page = site.session(ADMIN_KEY)
    cookie = next(c for c in context.cookies() if c["name"] == "igw_dashboard")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/dashboard"
    assert ADMIN_KEY not in page.content() and ADMIN_KEY not in page.url
    charts_drawn(page)
    since, until = shown_range(page)
    hours = len(bucket_starts(since, until, "hour"))
    # Requests: one series per provider; tokens: input and output; each with a point per hour.
    assert drawn(page, "requests") == [hours, hours]
    assert drawn(page, "tokens") == [hours, hours]
    assert drawn(page, "errors") == [hours]
    assert drawn(page, "cost") == [hours, hours]
    assert bars_drawn(page, "latency") == [2, 2, 2]  # p50, p95, first token; one bar per provider
    assert bars_drawn(page, "errormix") == [2]  # UPSTREAM_ERROR and RATE_LIMITED
    expected = api_totals(site.usage(ADMIN_KEY, since=iso(since)))
    assert expected["requests"] == 120 and totals(page) == pytest.approx(expected)
    site.shot(page, "overview")
    page.set_viewport_size({"width": 420, "height": 900})
    page.reload()
    charts_drawn(page)
    site.shot(page, "overview-narrow")
    for name, path in (("providers", "/dashboard/providers"), ("keys", "/dashboard/keys")):
        page.goto(site.url + path)
        page.set_viewport_size({"width": 1360, "height": 900})
        site.shot(page, name)
    assert page.locator("#keys tbody tr").count() == 2
    assert page.problems == []
    context.close()


def test_filters_change_the_charts_and_the_url(site):
    context, page = site.session(ADMIN_KEY)
    charts_drawn(page)
    page.select_option("#filters select[name=provider]", "anthropic")
    page.click("#filters button[type=submit]")
    page.wait_for_url(re.compile(r".*provider=anthropic.*"))
    charts_drawn(page)
    since, until = shown_range(page)
    hours = len(bucket_starts(since, until, "hour"))
    assert drawn(page, "requests") == [hours]
    assert totals(page) == pytest.approx(api_totals(site.usage(ADMIN_KEY, since=iso(since), provider="anthropic")))
    page.click("a[data-range=week]")
    page.wait_for_url(re.compile(r".*range=week.*"))
    assert "provider=anthropic" in page.url
    charts_drawn(page)
    since, until = shown_range(page)
    assert drawn(page, "requests") == [len(bucket_starts(since, until, "day"))] == [8]
    anthropic = [r for r in site.seeded.rows if r["provider_name"] == "anthropic"]
    assert totals(page)["requests"] == len(anthropic)
    site.shot(page, "overview-filtered")
    page.goto(site.url + "/dashboard/?range=custom&since=not-a-date")
    assert "since" in page.inner_text(".problem")
    site.shot(page, "bad-query")
    context.close()


def test_the_request_table_pages_and_opens_a_detail(site):
    context, page = site.session(ADMIN_KEY)
    page.goto(site.url + "/dashboard/requests?range=week")
    first = page.eval_on_selector_all("#requests tbody tr", "rows => rows.map(r => r.dataset.id)")
    assert first == [f"seed{i:04d}" for i in range(50)]
    site.shot(page, "requests")
    page.click("#next-page")
    page.wait_for_url(re.compile(r".*cursor=.*"))
    assert "range=week" in page.url
    second = page.eval_on_selector_all("#requests tbody tr", "rows => rows.map(r => r.dataset.id)")
    assert second == [f"seed{i:04d}" for i in range(50, 100)]
    page.click("#requests tbody tr[data-id=seed0057] a")
    page.wait_for_url(re.compile(r".*/dashboard/requests/seed0057$"))
    fields = page.inner_text("#request-fields")
    assert "UPSTREAM_ERROR" in fields and "req-0057" in fields and "openai" in fields
    site.shot(page, "request")
    assert page.problems == []
    context.close()


def test_a_caller_sees_only_its_own_keys_rows(site):
    key_a, secret_a = site.seeded.keys["team-a"]
    key_b = site.seeded.keys["team-b"][0]
    context, page = site.session(secret_a)
    assert secret_a not in page.content()
    charts_drawn(page)
    since, _ = shown_range(page)
    mine = api_totals(site.usage(secret_a, since=iso(since)))
    assert mine == api_totals(site.usage(ADMIN_KEY, since=iso(since), key=key_a))
    everyone = api_totals(site.usage(ADMIN_KEY, since=iso(since)))
    assert totals(page) == pytest.approx(mine) and mine["requests"] < everyone["requests"]
    assert page.locator("nav a", has_text="Keys").count() == 0
    site.shot(page, "overview-caller")
    page.goto(site.url + f"/dashboard/?range=week&key={key_b}")
    charts_drawn(page)
    assert totals(page)["requests"] == len(site.seeded.of_key(key_a))
    page.goto(site.url + "/dashboard/requests?range=week")
    ids = set(page.eval_on_selector_all("#requests tbody tr", "rows => rows.map(r => r.dataset.id)"))
    assert ids and ids <= {row["id"] for row in site.seeded.of_key(key_a)}
    problems = list(page.problems)
    other = site.seeded.of_key(key_b)[0]["id"]
    response = page.goto(site.url + f"/dashboard/requests/{other}")
    assert response.status == 404 and "not found" in page.inner_text(".problem")
    assert page.locator("#request-fields").count() == 0
    response = page.goto(site.url + "/dashboard/keys")
    assert response.status == 403
    assert problems == []
    page.context.clear_cookies()
    page.goto(site.url + "/dashboard/")
    site.shot(page, "sign-in")
    context.close()
