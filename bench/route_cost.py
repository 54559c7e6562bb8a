"""Routing's cost (issue 18): a fallback route whose first target is down, its circuit breaker open,
against the same call made to the serving provider directly, on the same gateway: the CPU a call
adds must stay under 2 ms. Part of `make bench` (bench/run.py), smaller with --smoke.

The down target is a provider on a port nothing listens on. Without REDIS_URL each worker keeps its
own breakers, so the route is called until 20 calls in a row were served at the first attempt (every
worker's breaker open); BREAKER_COOLDOWN is set long enough that no probe falls inside the run.
The two kinds of call run in slices back to back, the order alternating, and the figure is the
median of the per-slice differences (route minus direct), with the lowest and highest."""
import statistics

import requests

import procs

ROUTE = "bench-fallback"
LIMIT_MS = 2.0
COOLDOWN = "3600"  # the bench gateway's BREAKER_COOLDOWN
PROMPT = [{"role": "user", "content": "Write one sentence about foxes."}]


def body(model):
    return {"model": model, "messages": PROMPT, "maxTokens": 64}


def prepare(gateway_url, kind, model="l0", tries=300):
    """Register the down provider and the route; open the breaker in every worker."""
    api = gateway_url + "/api/v1/inference"
    dead = f"http://127.0.0.1:{procs.free_port()}/v1"
    requests.post(api + "/providers", timeout=10, json={
        "name": "bench-down", "type": "openai-compatible", "baseUrl": dead}).raise_for_status()
    requests.post(api + "/routes", timeout=10, json={
        "name": ROUTE, "strategy": "fallback",
        "targets": [{"model": model, "providerId": "bench-down"}, {"model": model, "providerId": f"bench-{kind}"}]},
    ).raise_for_status()
    clean = 0
    for _ in range(tries):
        resp = requests.post(api + "/chat", json=body(ROUTE), timeout=30)
        resp.raise_for_status()
        clean = clean + 1 if resp.headers.get("X-Gateway-Attempts") == "1" else 0
        if clean >= 20:
            return
    raise RuntimeError(f"route {ROUTE}: bench-down's breaker did not open in every worker after {tries} calls")


def measure(stack, kind, load, scenario):
    """{"direct": [cpu ms per call...], "route": [...], "diffs": [...]} over scenario.pairs slices."""
    prepare(stack.gateway.url, kind, scenario.model)
    url = stack.gateway.url + "/api/v1/inference/chat"
    bodies = {"direct": body(f"bench-{kind}/{scenario.model}"), "route": body(ROUTE)}
    load(scenario, url, bodies["direct"], 4, scenario.warmup)
    load(scenario, url, bodies["route"], 4, scenario.warmup)
    procs.store_journal(stack.gateway.url)
    out = {"direct": [], "route": [], "errors": 0}
    for slice_ in range(scenario.pairs):
        for which in (("direct", "route") if slice_ % 2 == 0 else ("route", "direct")):
            with procs.Meter([stack.gateway]) as meter:
                result = load(scenario, url, bodies[which], scenario.concurrency, scenario.requests)
                procs.store_journal(stack.gateway.url)  # the rows (a route's failed attempt has its own)
            out["errors"] += result["errors"]
            out[which].append(1000 * meter.cpu[stack.gateway.name] / max(1, result["completed"]))
    out["diffs"] = sorted(r - d for r, d in zip(out["route"], out["direct"]))
    return out


def render(result, scenario):
    diffs = result["diffs"]
    added = statistics.median(diffs)
    ok = added < LIMIT_MS and not result["errors"]
    return "\n".join([
        "## Routing", "",
        "A fallback route whose first target is down (a provider on a closed port), its circuit breaker open, "
        f"against the same call to the serving provider directly; chat at c={scenario.concurrency}, "
        f"{scenario.requests} calls a slice, {scenario.pairs} slices of each, back to back "
        "(`bench/route_cost.py`).", "",
        "| measure | direct | route | added CPU per call | limit | verdict |", "|---|---|---|---|---|---|",
        f"| fallback route, first target down, breaker open | {statistics.median(result['direct']):.3f} ms | "
        f"{statistics.median(result['route']):.3f} ms | {added:+.3f} ms (median of {len(diffs)} pairs; "
        f"{diffs[0]:+.3f} to {diffs[-1]:+.3f}) | {LIMIT_MS:g} ms | {'PASS' if ok else 'FAIL'} |", ""])
