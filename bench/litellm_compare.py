"""The gateway's OpenAI-compatible route side by side with LiteLLM's proxy: `make bench-litellm`.

    python bench/litellm_compare.py --litellm var/litellm-venv/bin/litellm [--smoke] [--workers 2]

Both serve POST /v1/chat/completions from the same fake upstream (bench/fake_upstream.py, OpenAI
format), with the same number of worker processes (WEB_CONCURRENCY for the gateway's gunicorn,
--num_workers for LiteLLM), under the same load (bench/load.py), one after the other. Measured per
server: CPU per call and requests/s at concurrency 64, p50 latency at concurrency 1 minus the
upstream's own (added latency), peak PSS of its process tree, and stream chunk pacing on light
streams (per-chunk lag, chunks merged into one read). Writes bench/results/litellm.md.

LiteLLM comes from PyPI in its own venv (`make install-litellm`: var/litellm-venv, outside bench/
so that linting bench/ does not walk its site-packages), never in the gateway's venv: its
dependencies would otherwise decide the gateway's. Nothing here runs in CI's test run.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import requests

import procs
import report
from run import KEY_VAR, PROMPT, load

MODEL = "bench-model"
# Both require this key (LiteLLM refuses to start without a master key; the gateway gets it as its
# caller key), so both pay for checking one.
KEY = "sk-bench-0123456789abcdef0123456789abcdef"


class Plan:
    def __init__(self, smoke):
        n = 1 if smoke else 10
        self.scenarios = [
            # (name, mode, upstream model spec, concurrency, requests, chunks)
            ("chat c1", "chat", "l0", 1, 50 * n, 0),
            ("chat c64", "chat", "l0", 64, 300 * n, 0),
            ("stream light", "stream", "n20.i10", 16, 16 * (1 if smoke else 10), 20),
        ]


def litellm_config(path, upstream_url, specs):
    """One model name per upstream spec, each an OpenAI model at the fake upstream."""
    lines = ["model_list:"]
    for spec in specs:
        lines += [f"  - model_name: {MODEL}-{spec}", "    litellm_params:",
                  f"      model: openai/{spec}", f"      api_base: {upstream_url}/v1",
                  "      api_key: bench"]
    # No database, no spend logs, no callbacks: LiteLLM at its lightest, as a proxy only.
    lines += ["litellm_settings:", "  drop_params: true", "  telemetry: false",
              "general_settings:", f"  master_key: {KEY}", "  disable_spend_logs: true"]
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def start_litellm(binary, port, workers, config, tmp):
    env = {"LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False", "DISABLE_SCHEMA_UPDATE": "true"}
    server = procs.Server("litellm", [binary, "--config", config, "--host", "127.0.0.1", "--port", str(port),
                                      "--num_workers", str(workers)], port, env, tmp, "/health/liveliness")
    return server.wait_ready(timeout=180)


def start_gateway(port, workers, upstream_url, tmp):
    server = procs.gunicorn("gateway", "wsgi:app", port, {
        "DATABASE_URL": f"sqlite:///{tmp}/gateway.db", "DATA_DIR": tmp, KEY_VAR: "bench", "GATEWAY_API_KEYS": KEY,
        "GATEWAY_ADMIN_KEYS": KEY + "-admin",
        "PROMETHEUS_MULTIPROC_DIR": "", "WEB_CONCURRENCY": str(workers)}, tmp, "/healthz").wait_ready()
    resp = requests.post(server.url + "/api/v1/inference/providers", timeout=10,
                         headers={"Authorization": f"Bearer {KEY}-admin"}, json={
        "name": MODEL, "type": "openai", "envVar": KEY_VAR, "baseUrl": upstream_url + "/v1"})
    resp.raise_for_status()
    return server


def body(name, spec, mode):
    """The same OpenAI body for both: the gateway reads `bench-model/<spec>` as provider/model,
    LiteLLM has a model_list entry of that name."""
    out = {"model": f"{MODEL}/{spec}" if name == "gateway" else f"{MODEL}-{spec}", "messages": PROMPT,
           "max_tokens": 64}
    if mode == "stream":
        out.update(stream=True, stream_options={"include_usage": True})
    return out


class Scenario:
    def __init__(self, name, mode, model, concurrency, requests, chunks):
        self.name, self.mode, self.model, self.concurrency = name, mode, model, concurrency
        self.requests, self.chunks, self.max_seconds = requests, chunks, 120


def measure(server, upstream, scenario, url, payload, gateway=False):
    """One scenario on one server; the gateway's request-log journal is moved within its meter, so its
    CPU includes storing the slice's rows (LiteLLM runs with its spend logs off)."""
    auth = {"Authorization": f"Bearer {KEY}"}
    load(scenario, url, payload, min(8, scenario.concurrency), min(50, scenario.requests), KEY)  # warm-up
    if gateway:
        procs.store_journal(server.url, auth)
    with procs.Meter([server, upstream]) as meter:
        result = load(scenario, url, payload, scenario.concurrency, scenario.requests, KEY)
        if gateway:
            procs.store_journal(server.url, auth)
    served = result["chunks_out"] if scenario.mode == "stream" else result["completed"]
    result.update(cpu_s=meter.cpu[server.name], peak_pss_mib=meter.peak[server.name],
                  cpu_ms_per_unit=1000 * meter.cpu[server.name] / served if served else None)
    return result


def run(args, tmp):
    plan = [Scenario(*s) for s in Plan(args.smoke).scenarios]
    upstream = procs.upstream(procs.free_port(), tmp).wait_ready()
    config = os.path.join(tmp, "litellm.yaml")
    litellm_config(config, upstream.url, sorted({s.model for s in plan}))
    results = {}
    try:
        for s in plan:  # the upstream alone, for added latency
            results[(s.name, "direct")] = load(s, upstream.url + "/v1/chat/completions",
                                               body("direct", s.model, s.mode), s.concurrency, s.requests)
        for name in ("gateway", "litellm"):
            port = procs.free_port()
            server = (start_gateway(port, args.workers, upstream.url, tmp) if name == "gateway"
                      else start_litellm(args.litellm, port, args.workers, config, tmp))
            try:
                for s in plan:
                    results[(s.name, name)] = measure(server, upstream, s, server.url + "/v1/chat/completions",
                                                      body(name, s.model, s.mode), gateway=name == "gateway")
                    print(f"{s.name:14} {name:8} " + report.brief(results[(s.name, name)]), flush=True)
            finally:
                server.stop()
    finally:
        upstream.stop()
    return results


def ratio_row(label, gw, ll, digits=3, lower_is_better=True):
    r = report.ratio(gw, ll)
    better = r is not None and (r <= 1 if lower_is_better else r >= 1)
    return (f"| {label} | {report.fmt(gw, digits)} | {report.fmt(ll, digits)} | {report.fmt(r)}x | "
            f"{'gateway' if better else 'LiteLLM'} |")


def render(results, args, version, elapsed):
    get = lambda s, t, k: results.get((s, t), {}).get(k)  # noqa: E731
    direct = get("chat c1", "direct", "p50_ms") or 0.0
    lines = [
        "# The gateway's /v1/chat/completions vs LiteLLM's proxy", "",
        f"Command: `python bench/litellm_compare.py {' '.join(sys.argv[1:])}`; LiteLLM {version}; "
        f"{args.workers} worker processes each; {elapsed:.0f} s; load {os.getloadavg()[0]:.2f}.", "",
        "| measure | gateway | LiteLLM | gateway / LiteLLM | better |", "|---|---|---|---|---|",
        ratio_row("CPU ms per call, c=64", get("chat c64", "gateway", "cpu_ms_per_unit"),
                  get("chat c64", "litellm", "cpu_ms_per_unit")),
        ratio_row("requests/s, c=64", get("chat c64", "gateway", "rps"), get("chat c64", "litellm", "rps"),
                  0, lower_is_better=False),
        ratio_row("p50 added latency ms, c=1", (get("chat c1", "gateway", "p50_ms") or 0) - direct,
                  (get("chat c1", "litellm", "p50_ms") or 0) - direct),
        ratio_row("peak PSS MiB (c=64)", get("chat c64", "gateway", "peak_pss_mib"),
                  get("chat c64", "litellm", "peak_pss_mib"), 0),
        ratio_row("stream chunk lag p50 ms", get("stream light", "gateway", "lag_p50_ms"),
                  get("stream light", "litellm", "lag_p50_ms")),
        ratio_row("stream chunk lag p99 ms", get("stream light", "gateway", "lag_p99_ms"),
                  get("stream light", "litellm", "lag_p99_ms")),
        f"| stream chunks merged into one read | {get('stream light', 'gateway', 'merged_arrivals')} | "
        f"{get('stream light', 'litellm', 'merged_arrivals')} | | |",
        "", "Errors: " + ", ".join(f"{s} {t}: {r.get('errors')}" for (s, t), r in results.items()), "",
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--litellm", required=True, help="the `litellm` executable of its own venv")
    parser.add_argument("--workers", type=int, default=2, help="worker processes for each (default 2)")
    parser.add_argument("--smoke", action="store_true", help="a few calls each: checks the harness works")
    parser.add_argument("--out", help="results file (default bench/results/litellm.md; smoke: litellm-smoke.md)")
    args = parser.parse_args()
    args.litellm = os.path.abspath(args.litellm)  # the servers run from the checkout's root
    version = subprocess.run([os.path.join(os.path.dirname(args.litellm), "python"), "-c",
                              "import importlib.metadata as m; print(m.version('litellm'))"],
                             capture_output=True, text=True).stdout.strip() or "?"
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="igw-litellm-") as tmp:
        results = run(args, tmp)
    text = render(results, args, version, time.time() - started)
    print(text)
    out = args.out or os.path.join(procs.HERE, "results", "litellm-smoke.md" if args.smoke else "litellm.md")
    with open(out, "w") as fh:
        fh.write(text)
    errors = sum(r.get("errors") or 0 for r in results.values())
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
