"""Time GET /usage over a large request log, on SQLite and PostgreSQL.

    python bench/usage_bench.py [--rows 1000000] [--runs 7] [--postgres-url URL | --no-postgres]

Generates the rows (`flask usage generate`'s code) into a fresh SQLite file and a fresh PostgreSQL
database, then times /usage through the app's test client (the whole request: parsing, queries,
JSON) with and without provider/since filters, and the dashboard's overview page (rendered HTML).
Prints a table and writes bench/results/usage.md.
"""
import argparse
import os
import platform
import random
import shlex
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from urllib.parse import urlparse, urlunparse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from inference_gateway import cli, create_app
from inference_gateway.store import db  # noqa: E402
from inference_gateway.store.tables import utcnow  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PROVIDERS = "openai,anthropic,google,opencode"
DAYS = 30
BUDGET_MS = 200
# The dashboard's overview (issue 20): the whole page, rendered, over the same rows.
DASHBOARD_BUDGET_MS = 1000
DASHBOARD_CASES = [("overview, 30 days", "/dashboard/?range=month"),
                   ("overview, 7 days, one provider", "/dashboard/?range=week&provider=openai")]


def cases():
    # A `since` inside an hour, as a dashboard's "last 7 days" is: both halves of the summary run.
    since = (utcnow() - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [("no filter", ""), ("provider", "provider=openai"), ("since (7 days)", f"since={since}"),
            ("provider + since", f"provider=openai&since={since}"), ("status=error", "status=error")]


def run_backend(name, url, rows, runs):
    started = time.perf_counter()
    app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING", "DATA_DIR": tempfile.mkdtemp(prefix="igw-bench-")})
    with app.app_context(), db.connection():
        providers = [cli.ensure_provider(n) for n in PROVIDERS.split(",")]
        cli.generate(rows, providers, days=DAYS, rng=random.Random(42))
    generate_s = time.perf_counter() - started
    client = app.test_client()
    results = []
    for label, query in cases():
        timings = []
        for attempt in range(runs + 1):
            t0 = time.perf_counter()
            resp = client.get("/api/v1/inference/usage?" + query)
            elapsed = (time.perf_counter() - t0) * 1000
            assert resp.status_code == 200, resp.get_json()
            if attempt:  # the first run warms the caches and is not counted
                timings.append(elapsed)
        data = resp.get_json()["data"]
        if not query:
            assert data["summary"]["totalRequests"] == rows, data["summary"]
        results.append((label, query, statistics.median(timings), max(timings), data["summary"]["totalRequests"]))
    dashboard = []
    for label, path in DASHBOARD_CASES:
        timings = time_page(client, path, runs)
        dashboard.append((label, path, statistics.median(timings), max(timings)))
    db.release_all()
    return {"backend": name, "generate_s": generate_s, "results": results, "dashboard": dashboard}


def time_page(client, path, runs):
    """Milliseconds per GET of a dashboard page (open mode), after one warm-up."""
    timings = []
    for attempt in range(runs + 1):
        t0 = time.perf_counter()
        resp = client.get(path)
        elapsed = (time.perf_counter() - t0) * 1000
        assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
        if attempt:
            timings.append(elapsed)
    return timings


def postgres_database(admin_url):
    import psycopg2

    parsed = urlparse(admin_url)
    conn = psycopg2.connect(host=parsed.hostname, port=parsed.port or 5432, user=parsed.username or "postgres",
                            password=parsed.password, dbname=parsed.path.lstrip("/") or "postgres")
    conn.autocommit = True
    name = f"igw_bench_{uuid.uuid4().hex[:8]}"
    conn.cursor().execute(f'CREATE DATABASE "{name}"')
    version = conn.server_version
    return conn, name, urlunparse(parsed._replace(path="/" + name)), f"{version // 10000}.{version % 10000}"


def table(reports, rows):
    lines = [f"| backend | query | median ms | max ms | matching rows | under {BUDGET_MS} ms |", "|---|---|---|---|---|---|"]
    for report in reports:
        for label, query, median, worst, matched in report["results"]:
            lines.append(f"| {report['backend']} | {label} (`{query or '-'}`) | {median:.1f} | {worst:.1f} | "
                         f"{matched:,} | {'yes' if median < BUDGET_MS else 'NO'} |")
    lines += ["", f"| backend | dashboard page | median ms | max ms | under {DASHBOARD_BUDGET_MS} ms |",
              "|---|---|---|---|---|"]
    for report in reports:
        for label, path, median, worst in report.get("dashboard", []):
            lines.append(f"| {report['backend']} | {label} (`{path}`) | {median:.1f} | {worst:.1f} | "
                         f"{'yes' if median < DASHBOARD_BUDGET_MS else 'NO'} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--postgres-url", default=os.environ.get(
        "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "usage.md"))
    args = parser.parse_args()

    reports = []
    with tempfile.TemporaryDirectory() as tmp:
        reports.append(run_backend("SQLite " + sqlite3.sqlite_version, f"sqlite:///{tmp}/bench.db",
                                   args.rows, args.runs))
    if not args.no_postgres:
        conn, name, url, version = postgres_database(args.postgres_url)
        try:
            reports.append(run_backend("PostgreSQL " + version, url, args.rows, args.runs))
        finally:
            conn.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.close()

    command = "python bench/usage_bench.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    generated = ", ".join(f"{r['backend']} {r['generate_s']:.0f} s" for r in reports)
    text = "\n".join([
        "# GET /usage over a large request log",
        "",
        f"Command: `{command.strip()}`",
        "",
        f"{args.rows:,} rows over {DAYS} days from {PROVIDERS}; median and max of {args.runs} runs after one "
        f"warm-up, through the app's test client (request parsing, queries, JSON). Generating the rows took: "
        f"{generated}.",
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}.",
        "",
        table(reports, args.rows),
        "",
    ])
    print(text)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
