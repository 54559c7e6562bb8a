"""What the usage row costs a chat call at concurrency 1, against everything else the gateway does.

    python bench/row_share.py [--rounds 30] [--calls 100] [--json]

The pass-through's app and the gateway's run in this process (Flask test clients, no gunicorn and
no socket server: only the applications' own work) against the fake upstream in a subprocess. Each
round runs every variant once, `--calls` chat calls each, the order rotating; CPU is this process's
own (the upstream's is not in it). Variants: the gateway as shipped (the row appended to the
request log's journal before the answer and moved into the database in batches: store/journal.py),
the same with the row committed before the answer (LOG_JOURNAL_INTERVAL=0: a transaction per row at
synchronous=NORMAL, its WAL synced within SQLITE_SYNC_INTERVAL), the same at synchronous=FULL (the
WAL synced by every commit; the journal is off there too), and the row not written at all (the
journal's append and the writer's store replaced by nothing: the measuring stick, not a setting). Each is compared with the pass-through round by round: the median
ratio (CPU) or difference (wall time per call) and its quartiles. Target 1a's gap, taken apart.
"""
import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time

import procs
from run import KEY_VAR, Formats

VARIANTS = ("passthrough", "gateway", "gateway, row committed before the answer", "gateway, row synchronous=FULL",
            "gateway, no usage row")


def quartiles(values):
    values = sorted(values)
    return statistics.median(values), values[len(values) // 4], values[(3 * len(values)) // 4]


def measure(rounds, calls):
    """{variant: {"cpu_us": median, "cpu_ratio": (median, q1, q3), "wall_diff_ms": (median, q1, q3)}}."""
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="igw-rowshare-") as tmp:
        upstream = procs.upstream(procs.free_port(), tmp).wait_ready()
        try:
            return _measure(upstream, tmp, rounds, calls)
        finally:
            upstream.stop()


def _measure(upstream, tmp, rounds, calls):
    fmt = Formats("openai")
    os.environ["UPSTREAM_URL"] = upstream.url + fmt.path
    os.environ[KEY_VAR] = "bench"
    sys.path.insert(0, procs.ROOT)
    import passthrough  # reads UPSTREAM_URL at import
    from inference_gateway import create_app
    from inference_gateway.store import request_log

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/gateway.db", "DATA_DIR": tmp, "GATEWAY_API_KEYS": ""})
    gateway, baseline = app.test_client(), passthrough.app.test_client()
    gateway.post("/api/v1/inference/providers", json={
        "name": "bench-openai", "type": "openai", "envVar": KEY_VAR, "baseUrl": upstream.url + "/v1"})
    store, append = request_log.writer.store, request_log.journal.append
    journal_path, interval = request_log.journal.database_path, request_log.journal.interval

    def setup(variant):
        none = variant.endswith("no usage row")
        request_log.writer.store = (lambda *row: None) if none else store
        request_log.journal.append = (lambda *row: None) if none else append
        # The journal is off where the app would turn it off (FULL) and in the committed variant.
        journalled = variant in ("gateway", "gateway, no usage row")
        request_log.journal.configure(journal_path if journalled else None, interval)
        synchronous = "FULL" if "FULL" in variant else "NORMAL"
        with request_log._connection.cursor() as cursor:
            cursor.execute(f"PRAGMA synchronous = {synchronous}")

    def one_slice(variant, count):
        setup(variant)
        client, path, body = ((baseline, "/chat", fmt.upstream_body("l0", False)) if variant == "passthrough"
                              else (gateway, "/api/v1/inference/chat", fmt.gateway_body("l0")))
        request_log.catch_up()  # an earlier slice's rows are not this one's to move
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(count):
            resp = client.post(path, json=body)
            if resp.status_code != 200:
                raise RuntimeError(f"{variant}: HTTP {resp.status_code} {resp.get_data()[:300]!r}")
        request_log.catch_up()  # this slice's journalled rows stored within its CPU
        return (time.process_time() - cpu) / count * 1e6, (time.perf_counter() - wall) / count * 1e3

    try:
        for variant in VARIANTS:
            one_slice(variant, 100)  # warm: pools, caches, first-call imports
        slices = {v: [] for v in VARIANTS}
        for round_ in range(rounds):
            shift = round_ % len(VARIANTS)
            for variant in VARIANTS[shift:] + VARIANTS[:shift]:
                slices[variant].append(one_slice(variant, calls))
    finally:
        request_log.writer.store, request_log.journal.append = store, append
    base = slices["passthrough"]
    out = {}
    for variant, runs in slices.items():
        out[variant] = {"cpu_us": statistics.median(c for c, _ in runs),
                        "wall_ms": statistics.median(w for _, w in runs)}
        if variant != "passthrough":
            out[variant]["cpu_ratio"] = quartiles([c / b for (c, _), (b, _) in zip(runs, base)])
            out[variant]["wall_diff_ms"] = quartiles([w - b for (_, w), (_, b) in zip(runs, base)])
    return out


def render(result, rounds, calls):
    lines = ["| variant | CPU us / call | CPU vs pass-through (median, quartiles) | wall ms / call "
             "| wall vs pass-through |", "|---|---|---|---|---|"]
    for variant, r in result.items():
        if variant == "passthrough":
            lines.append(f"| pass-through | {r['cpu_us']:,.0f} | 1 | {r['wall_ms']:.3f} | 0 |")
            continue
        (cr, c1, c3), (wd, w1, w3) = r["cpu_ratio"], r["wall_diff_ms"]
        lines.append(f"| {variant} | {r['cpu_us']:,.0f} | {cr:.2f}x ({c1:.2f} to {c3:.2f}) | {r['wall_ms']:.3f} "
                     f"| {wd:+.3f} ms ({w1:+.3f} to {w3:+.3f}) |")
    return (f"{rounds} rounds of {calls} calls per variant, in-process (test clients, no gunicorn), "
            "order rotating; ratios and differences taken round by round.\n\n" + "\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--calls", type=int, default=100, help="chat calls per variant per round")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON (bench/run.py reads them)")
    args = parser.parse_args()
    result = measure(args.rounds, args.calls)
    print(json.dumps(result) if args.json else render(result, args.rounds, args.calls))


if __name__ == "__main__":
    main()
