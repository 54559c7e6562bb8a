"""The gateway against a bare pass-through and the upstream direct: `make bench`.

    python bench/run.py [--smoke] [--reps 3] [--format openai|anthropic] [--usage-rows 1000000 | --no-usage]

Starts the fake upstream, the pass-through and the gateway (gunicorn with gunicorn.conf.py's
defaults, a fresh SQLite file, a provider whose baseUrl is the fake upstream), runs every scenario
against the three in turn (the order rotating each repetition), takes the median of the
repetitions, prints the issue's six targets with ratios and PASS/FAIL, and writes
bench/results/latest.md (or smoke.md) with the figures, the command and the machine.
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

import requests

import loop_stalls
import procs
import report
import route_cost

TARGETS = ("direct", "passthrough", "gateway")
KEY_VAR = "BENCH_UPSTREAM_API_KEY"  # matches the default PROVIDER_KEY_VARS (*_API_KEY)
PROMPT = [{"role": "user", "content": "Write one sentence about foxes."}]
# The bench model's price (USD per million tokens): a key with a budget can only use a priced model.
PRICES = {"l0": {"input": 1.0, "output": 4.0}}


def redis_url():
    """Where the virtual-key scenario's counters live (None: the scenario is skipped)."""
    return os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL") or None


class Scenario:
    """One workload. `requests` per measurement; with `pairs` > 1 each repetition measures every
    target that many times in turn, so each gateway slice has a pass-through slice next to it."""

    def __init__(self, name, mode, model, concurrency, requests, chunks=0, max_seconds=60, warmup=0, reps=None,
                 pairs=1, surface="native", virtual_key=False):
        self.name, self.mode, self.model, self.reps = name, mode, model, reps
        # "openai": the gateway is called on its OpenAI-compatible /v1/chat/completions instead.
        self.surface = surface
        # The gateway is called with a virtual key carrying rpm, tpm and a budget (Stack.virtual_key).
        self.virtual_key = virtual_key
        self.concurrency, self.requests, self.chunks = concurrency, requests, chunks
        self.max_seconds, self.warmup, self.pairs = max_seconds, warmup, pairs


def route_scenario(smoke):
    """Issue 18's: a call through a fallback route whose first target is down (bench/route_cost.py)."""
    return (Scenario("route fallback c1", "chat", "l0", 1, 100, warmup=20, pairs=2) if smoke else
            Scenario("route fallback c1", "chat", "l0", 1, 500, warmup=100, pairs=5))


def scenarios(smoke):
    """The issue's workloads; --smoke shrinks each one so the whole run fits in CI's minute."""
    if smoke:
        return [Scenario("chat c1", "chat", "l0", 1, 100, warmup=50, pairs=2),
                Scenario("chat c1 v1", "chat", "l0", 1, 100, warmup=50, pairs=2, surface="openai"),
                Scenario("chat c1 vkey", "chat", "l0", 1, 100, warmup=50, pairs=2, virtual_key=True),
                Scenario("chat c64 l0", "chat", "l0", 64, 600, warmup=50),
                Scenario("chat c64 l50", "chat", "l50", 64, 400),
                Scenario("stream light", "stream", "n20.i10", 16, 32, chunks=20),
                Scenario("stream capacity", "stream", "n5.i200", 200, 200, chunks=5)]
    # The ratio targets run in slices, gateway and pass-through back to back: on a shared VM the
    # CPU a request costs drifts by a third within minutes, and a ratio of two slices run seconds
    # apart drifts far less than one of runs a minute apart.
    return [Scenario("chat c1", "chat", "l0", 1, 500, warmup=200, pairs=5),
            Scenario("chat c1 v1", "chat", "l0", 1, 500, warmup=200, pairs=5, surface="openai"),
            Scenario("chat c1 vkey", "chat", "l0", 1, 500, warmup=200, pairs=5, virtual_key=True),
            Scenario("chat c64 l0", "chat", "l0", 64, 1500, warmup=200, pairs=3),
            Scenario("chat c64 l50", "chat", "l50", 64, 1000, pairs=3),
            Scenario("stream light", "stream", "n20.i10", 16, 160, chunks=20),
            Scenario("stream capacity", "stream", "n10.i500", 1000, 1000, chunks=10, max_seconds=120),
            # Not an issue target: a provider slow to its first byte (a reasoning model) with more
            # streams per worker than the database pool has connections.
            Scenario("stream slow start", "stream", "l11000.n2.i10", 700, 700, chunks=2, max_seconds=120, reps=1)]


class Formats:
    """Paths and bodies per upstream wire format; the gateway's body is always its own API's."""

    PATHS = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages"}

    def __init__(self, kind):
        self.kind, self.path = kind, self.PATHS[kind]

    def upstream_body(self, model, stream):
        body = {"model": model, "messages": PROMPT, "max_tokens": 64}
        if stream:
            body["stream"] = True
            if self.kind == "openai":
                body["stream_options"] = {"include_usage": True}
        return body

    def gateway_body(self, model):
        return {"model": f"bench-{self.kind}/{model}", "messages": PROMPT, "maxTokens": 64}

    def compat_body(self, model):
        """The same call in OpenAI's format, for the gateway's /v1/chat/completions."""
        return {"model": f"bench-{self.kind}/{model}", "messages": PROMPT, "max_tokens": 64}


class Stack:
    """The three servers, started once for the whole run."""

    def __init__(self, fmt, tmp):
        self.fmt = fmt
        self.targets = TARGETS
        self.upstream = procs.upstream(procs.free_port(), tmp).wait_ready()
        self.passthrough = procs.gunicorn(
            "passthrough", "passthrough:app", procs.free_port(),
            {"UPSTREAM_URL": self.upstream.url + fmt.path}, tmp).wait_ready()
        self.gateway = self.start_gateway("gateway", "wsgi:app", tmp, env={"BREAKER_COOLDOWN": route_cost.COOLDOWN})
        self.by_target = {"direct": self.upstream, "passthrough": self.passthrough, "gateway": self.gateway}
        self.virtual_key = self.create_virtual_key(self.gateway) if redis_url() else None

    def start_gateway(self, name, app, tmp, env=None, root=procs.ROOT):
        """A gateway on its own fresh SQLite file, with a provider per format pointing at the upstream,
        the bench model priced, and virtual keys' counters in Redis when there is one (under a prefix
        of this run's own). `env` adds settings; `root` serves another checkout (bench/variants.py)."""
        server = procs.gunicorn(
            name, app, procs.free_port(),
            {"DATABASE_URL": f"sqlite:///{tmp}/{name}.db", "DATA_DIR": tmp, KEY_VAR: "bench",
             "GATEWAY_API_KEYS": "", "PROMETHEUS_MULTIPROC_DIR": "", **self.virtual_key_env(tmp, name),
             **(env or {})}, tmp, "/healthz", root=root).wait_ready()
        for kind in Formats.PATHS:
            resp = requests.post(server.url + "/api/v1/inference/providers", timeout=10, json={
                "name": f"bench-{kind}", "type": kind, "envVar": KEY_VAR, "baseUrl": self.upstream.url + "/v1"})
            resp.raise_for_status()
        return server

    @staticmethod
    def virtual_key_env(tmp, name="gateway"):
        """Settings for virtual keys: the bench model priced, and the counters in Redis when there is
        one (under a prefix of this run's own)."""
        prices = os.path.join(tmp, "prices.json")
        with open(prices, "w") as fh:
            json.dump(PRICES, fh)
        limits = {"REDIS_URL": redis_url(), "LIMITS_REDIS_PREFIX": f"igw-bench-{os.getpid()}-{name}"} if redis_url() else {}
        return {"PRICES_FILE": prices, **limits}

    @staticmethod
    def create_virtual_key(server):
        """A virtual key whose limits every call checks and settles but none reaches: its secret."""
        resp = requests.post(server.url + "/api/v1/inference/keys", timeout=10, json={
            "name": "bench", "rpm": 2 ** 31 - 1, "tpm": 2 ** 31 - 1, "budgetUsd": 10 ** 6})
        resp.raise_for_status()
        return resp.json()["data"]["key"]

    def servers(self):
        return [self.upstream, self.passthrough, self.gateway]

    def stop(self):
        for server in reversed(self.servers()):
            server.stop()

    def request(self, target, scenario):
        """(url, body) for one scenario against one target."""
        stream = scenario.mode == "stream"
        if target == "direct":
            return self.upstream.url + self.fmt.path, self.fmt.upstream_body(scenario.model, stream)
        if target == "passthrough":
            return (self.passthrough.url + ("/chat/stream" if stream else "/chat"),
                    self.fmt.upstream_body(scenario.model, stream))
        if scenario.surface == "openai":
            return self.by_target[target].url + "/v1/chat/completions", self.fmt.compat_body(scenario.model)
        return (self.by_target[target].url + "/api/v1/inference" + ("/chat/stream" if stream else "/chat"),
                self.fmt.gateway_body(scenario.model))

    def measure(self, target, scenario, warm=True):
        url, body = self.request(target, scenario)
        key = self.virtual_key if scenario.virtual_key and target not in ("direct", "passthrough") else None
        server = self.by_target[target]
        gateway = target not in ("direct", "passthrough")
        if scenario.warmup and warm:
            # Outside the meter: warm-up calls would be counted in CPU but not in calls served.
            load(scenario, url, body, concurrency=min(8, scenario.concurrency), requests=scenario.warmup, key=key)
        if gateway:
            procs.store_journal(server.url)  # the warm-up's rows, outside the meter
        # The tree that serves this target: the upstream alone when it is hit directly.
        with procs.Meter([server, self.upstream]) as meter:
            result = load(scenario, url, body, scenario.concurrency, scenario.requests, key=key)
            if gateway:
                procs.store_journal(server.url)  # this slice's rows stored, in its CPU
        result.update(cpu_s=meter.cpu[server.name], upstream_cpu_s=meter.cpu["upstream"],
                      peak_pss_mib=meter.peak[server.name])
        served = result["chunks_out"] if scenario.mode == "stream" else result["completed"]
        result["cpu_ms_per_unit"] = 1000 * result["cpu_s"] / served if served else None
        return result


def load(scenario, url, body, concurrency, requests, key=None):
    """Run bench/load.py in its own process (it must not share a core's GIL with the meter)."""
    return run_json("load.py", [scenario.mode, "--url", url, "--body", json.dumps(body),
                                "--concurrency", str(concurrency), "--requests", str(requests),
                                "--chunks", str(scenario.chunks), "--max-seconds", str(scenario.max_seconds)]
                    + (["--key", key] if key else []),
                    timeout=scenario.max_seconds + 120, what=f"on {url} ({scenario.name})")


def measure_row_share(rounds, calls):
    """bench/row_share.py in its own process: it imports both applications and patches the gateway."""
    return run_json("row_share.py", ["--json", "--rounds", str(rounds), "--calls", str(calls)], timeout=900)


def run_json(script, args, timeout, what=""):
    """One of bench/'s scripts in a process of its own; its stdout, a JSON document."""
    argv = [sys.executable, os.path.join(procs.HERE, script)] + args
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if done.returncode:
        raise RuntimeError(f"{script} failed {what}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def median_results(runs):
    """{metric: median over repetitions} for the numeric metrics, the worst for error counts."""
    merged = {}
    for key, value in runs[0].items():
        values = [run[key] for run in runs if run.get(key) is not None]
        if key in ("errors", "lost_chunks", "streams_incomplete", "merged_arrivals"):
            merged[key] = max(values)
        elif values and all(isinstance(v, (int, float)) for v in values):
            merged[key] = statistics.median(values)
        else:
            merged[key] = value
    merged["error_samples"] = [s for run in runs for s in run.get("error_samples", [])][:5]
    return merged


# Per scenario, the gateway-to-pass-through comparisons taken slice by slice:
# name -> (metric, "ratio" or "diff").
PAIRED = {"cpu_ratio": ("cpu_ms_per_unit", "ratio"), "rps_ratio": ("rps", "ratio"), "p50_diff": ("p50_ms", "diff")}


def paired(gateway_runs, passthrough_runs):
    """Each comparison over the slices measured back to back: its median, lowest and highest."""
    out = {"pairs": len(gateway_runs)}
    for name, (metric, kind) in PAIRED.items():
        values = sorted(g[metric] / p[metric] if kind == "ratio" else g[metric] - p[metric]
                        for g, p in zip(gateway_runs, passthrough_runs)
                        if g.get(metric) is not None and p.get(metric))
        if values:
            out[name] = statistics.median(values)
            out[name + "_range"] = (values[0], values[-1])
    return out


def run_all(stack, plan, reps, log=print):
    """{(scenario, target): median of its runs}, plus {(scenario, "paired"): paired(...)}."""
    results = {}
    for rep in range(reps):
        shift = rep % len(stack.targets)
        order = stack.targets[shift:] + stack.targets[:shift]
        for scenario in plan:
            if scenario.reps is not None and rep < reps - scenario.reps:
                # Long and not a ratio target: only the last repetitions, so the memory its
                # streams leave in the workers cannot inflate an earlier repetition's peak PSS.
                continue
            for slice_ in range(scenario.pairs):
                for target in order:
                    result = stack.measure(target, scenario, warm=slice_ == 0)
                    results.setdefault((scenario.name, target), []).append(result)
                    log(f"rep {rep + 1}/{reps} {scenario.name:16} {target:11} " + report.brief(result))
    merged = {key: median_results(runs) for key, runs in results.items()}
    for scenario in plan:
        runs = [results.get((scenario.name, t)) for t in ("gateway", "passthrough")]
        if all(runs):
            merged[(scenario.name, "paired")] = paired(*runs)
    return merged


def run_usage(rows, runs, postgres_url):
    """Target 6 through bench/usage_bench.py (the usage engineer's); returns its report dicts."""
    import usage_bench

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        out.append(usage_bench.run_backend("SQLite", f"sqlite:///{tmp}/usage.db", rows, runs))
    if postgres_url:
        conn, name, url, version = usage_bench.postgres_database(postgres_url)
        try:
            out.append(usage_bench.run_backend("PostgreSQL " + version, url, rows, runs))
        finally:
            conn.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.close()
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small and quick: keeps the harness working in CI")
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default 3, smoke 1)")
    parser.add_argument("--format", choices=sorted(Formats.PATHS), default="openai")
    parser.add_argument("--only", help="comma-separated scenario names to run (default: all)")
    parser.add_argument("--usage-rows", type=int, default=None, help="rows for target 6 (default 1M, smoke 5k)")
    parser.add_argument("--no-usage", action="store_true", help="skip target 6")
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_POSTGRES_URL"),
                        help="target 6 on PostgreSQL too (default: $TEST_POSTGRES_URL)")
    parser.add_argument("--out", help="results file (default bench/results/latest.md, smoke.md with --smoke)")
    args = parser.parse_args()
    reps = args.reps or (1 if args.smoke else 3)
    plan = scenarios(args.smoke)
    if args.only:
        wanted = {name.strip() for name in args.only.split(",")}
        plan = [s for s in plan if s.name in wanted]
    if not redis_url() and any(s.virtual_key for s in plan):
        print("chat c1 vkey skipped: its key's counters live in Redis; set TEST_REDIS_URL or REDIS_URL", flush=True)
        plan = [s for s in plan if not s.virtual_key]
    command = "python bench/run.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    started, load_before = time.time(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="igw-bench-") as tmp:
        stack = Stack(Formats(args.format), tmp)
        stall_table = route_table = None
        try:
            results = run_all(stack, plan, reps)
            route = route_scenario(args.smoke)
            if not args.only or route.name in args.only.split(","):
                routed = route_cost.measure(stack, args.format, load, route)
                route_table = route_cost.render(routed, route)
                print(route_table)
            light = next((s for s in plan if s.name == "stream light"), None)
            if light is not None:
                stall_table = loop_stalls.render(loop_stalls.measure(stack, light, tmp, load))
        finally:
            stack.stop()
    row_table = None
    if any(s.name == "chat c1" for s in plan):
        import row_share  # imports this module: not at the top

        rounds, calls = (2, 20) if args.smoke else (30, 100)
        row_table = row_share.render(measure_row_share(rounds, calls), rounds, calls)
    usage = None
    if not args.no_usage:
        rows = args.usage_rows or (5000 if args.smoke else 1_000_000)
        usage = {"rows": rows, "reports": run_usage(rows, 3 if args.smoke else 7, args.postgres_url)}
    text = report.render(results, plan, usage, reps=reps, command=command.strip(), fmt=args.format,
                         elapsed=time.time() - started, load=(load_before, os.getloadavg()[0]),
                         row_share=row_table, loop_stalls=stall_table)
    if route_table:
        text += "\n" + route_table
    print(text)
    out = args.out or os.path.join(procs.HERE, "results", "smoke.md" if args.smoke else "latest.md")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as fh:
        fh.write(text)
    sys.exit(1 if args.smoke and (report.broken(results) or (route_table and routed["errors"])) else 0)


if __name__ == "__main__":
    main()
