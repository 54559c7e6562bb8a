"""The benchmark's tables: the issue's six targets, every figure behind them, the machine."""
import os
import platform
from importlib import metadata

USAGE_BUDGET_MS = 200
DASHBOARD_BUDGET_MS = 1000
MEMORY_BUDGET_MIB = 150


def brief(r):
    """One progress line for a single load run."""
    line = (f"rps={r['rps']:.0f} p50={r['p50_ms']}ms p99={r['p99_ms']}ms errors={r['errors']} "
            f"cpu={r['cpu_s']:.2f}s pss={r['peak_pss_mib']:.0f}MiB loadgen_cpu={r['loadgen_cpu_s']:.2f}s")
    if r["mode"] == "stream":
        line += (f" ttfb_p99={r['ttfb_p99_ms']}ms lag_p50={r['lag_p50_ms']}ms "
                 f"chunks={r['chunks_out']}/{r['chunks_in']} merged={r['merged_arrivals']}")
    return line + "".join(f"\n    {s}" for s in r["error_samples"][:3])


def broken(results):
    """True when any target lost calls or chunks: the harness (or a server) is not working."""
    return any(r.get("errors") or r.get("lost_chunks") or r.get("streams_incomplete") for r in results.values())


def fmt(value, digits=2):
    if value is None:
        return "-"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def verdict(ok):
    return "PASS" if ok else "FAIL"


def ratio(a, b):
    return a / b if a is not None and b else None


def compared(results, scenario, name, unit="x", digits=2):
    """A paired comparison (bench/run.py `paired`): (median over the back-to-back slices, the text
    showing it with the range and count of pairs)."""
    pairs = results[(scenario, "paired")]
    value, (lo, hi) = pairs[name], pairs[name + "_range"]
    sign = "+" if unit == " ms" and value >= 0 else ""
    if pairs["pairs"] == 1:
        return value, f"{sign}{fmt(value, digits)}{unit}"
    return value, (f"{sign}{fmt(value, digits)}{unit} (median of {pairs['pairs']} pairs; "
                   f"{fmt(lo, digits)} to {fmt(hi, digits)})")


def target_rows(results, usage, gateway="gateway"):
    """[(target, gateway, pass-through, measure, limit, verdict)] for the scenarios that ran."""
    def get(scenario, target, key):
        return results.get((scenario, gateway if target == "gateway" else target), {}).get(key)

    rows = []
    if ("chat c1", gateway) in results:
        gw, pt = get("chat c1", "gateway", "cpu_ms_per_unit"), get("chat c1", "passthrough", "cpu_ms_per_unit")
        r, shown = compared(results, "chat c1", "cpu_ratio")
        rows.append(("1a. chat CPU per request (c=1)", f"{fmt(gw, 3)} ms", f"{fmt(pt, 3)} ms",
                     shown, "<= 1.25x", verdict(r <= 1.25)))
        gw, pt, direct = (get("chat c1", t, "p50_ms") for t in ("gateway", "passthrough", "direct"))
        diff, shown = compared(results, "chat c1", "p50_diff", unit=" ms", digits=3)
        rows.append(("1b. chat latency p50 (c=1)", f"{fmt(gw, 3)} ms (+{fmt(gw - direct, 3)} vs direct)",
                     f"{fmt(pt, 3)} ms (+{fmt(pt - direct, 3)})", shown, "<= +1 ms",
                     verdict(diff <= 1.0)))
    if ("chat c1 v1", gateway) in results:
        gw, pt = get("chat c1 v1", "gateway", "cpu_ms_per_unit"), get("chat c1 v1", "passthrough", "cpu_ms_per_unit")
        r, shown = compared(results, "chat c1 v1", "cpu_ratio")
        rows.append(("1c. /v1/chat/completions CPU per request (c=1)", f"{fmt(gw, 3)} ms", f"{fmt(pt, 3)} ms",
                     shown, "<= 1.3x", verdict(r <= 1.3)))
    if ("chat c1 vkey", gateway) in results:
        gw, pt = (get("chat c1 vkey", t, "cpu_ms_per_unit") for t in ("gateway", "passthrough"))
        r, shown = compared(results, "chat c1 vkey", "cpu_ratio")
        rows.append(("17. chat with a virtual key (rpm, tpm, budget; Redis) CPU per request (c=1)",
                     f"{fmt(gw, 3)} ms", f"{fmt(pt, 3)} ms", shown, "<= 1.5x", verdict(r <= 1.5)))
    for name, label in (("chat c64 l0", "2a. throughput c=64, upstream 0 ms"),
                        ("chat c64 l50", "2b. throughput c=64, upstream 50 ms")):
        if (name, gateway) in results:
            gw, pt = get(name, "gateway", "rps"), get(name, "passthrough", "rps")
            r, shown = compared(results, name, "rps_ratio")
            rows.append((label, f"{fmt(gw, 0)} rps", f"{fmt(pt, 0)} rps", shown, ">= 0.8x", verdict(r >= 0.8)))
    if ("stream light", gateway) in results:
        g = results[("stream light", gateway)]
        p = results[("stream light", "passthrough")]
        rows.append(("3a. light streams: chunks in = out, one per arrival",
                     f"{g['chunks_out']}/{g['chunks_in']}, {g['merged_arrivals']} merged",
                     f"{p['chunks_out']}/{p['chunks_in']}, {p['merged_arrivals']} merged", "", "equal, 0 merged",
                     verdict(g["chunks_out"] == g["chunks_in"] and not g["merged_arrivals"])))
        diff = g["lag_p50_ms"] - p["lag_p50_ms"]
        rows.append(("3b. light streams: forwarding lag p50", f"{fmt(g['lag_p50_ms'], 3)} ms",
                     f"{fmt(p['lag_p50_ms'], 3)} ms", f"+{fmt(diff, 3)} ms", "<= +1 ms", verdict(diff <= 1.0)))
        r, shown = compared(results, "stream light", "cpu_ratio")
        rows.append(("3c. light streams: CPU per forwarded chunk", f"{fmt(g['cpu_ms_per_unit'], 3)} ms",
                     f"{fmt(p['cpu_ms_per_unit'], 3)} ms", shown, "<= 1.5x", verdict(r <= 1.5)))
    if ("stream capacity", gateway) in results:
        g = results[("stream capacity", gateway)]
        p = results[("stream capacity", "passthrough")]
        streams = g["concurrency"]
        rows.append((f"4a. {streams} concurrent streams: errors, lost chunks",
                     f"{g['errors']} errors, {g['lost_chunks']} lost", f"{p['errors']} errors, {p['lost_chunks']} lost",
                     "", "0, 0", verdict(not g["errors"] and not g["lost_chunks"] and not g["streams_incomplete"])))
        r = ratio(g["ttfb_p99_ms"], p["ttfb_p99_ms"])
        rows.append((f"4b. {streams} concurrent streams: TTFB p99", f"{fmt(g['ttfb_p99_ms'], 0)} ms",
                     f"{fmt(p['ttfb_p99_ms'], 0)} ms", f"{fmt(r)}x", "<= 2x", verdict(r is not None and r <= 2)))
        rows.append((f"5. peak PSS of the process tree under {streams} streams", f"{fmt(g['peak_pss_mib'], 0)} MiB",
                     f"{fmt(p['peak_pss_mib'], 0)} MiB", "", f"<= {MEMORY_BUDGET_MIB} MiB",
                     verdict(g["peak_pss_mib"] <= MEMORY_BUDGET_MIB)))
    if ("stream slow start", gateway) in results:
        g = results[("stream slow start", gateway)]
        p = results[("stream slow start", "passthrough")]
        rows.append((f"extra. {g['concurrency']} streams, provider 11 s to first byte: errors, TTFB p99",
                     f"{g['errors']} errors, {fmt(g['ttfb_p99_ms'], 0)} ms",
                     f"{p['errors']} errors, {fmt(p['ttfb_p99_ms'], 0)} ms", "", "0 errors",
                     verdict(not g["errors"])))
    for backend in (usage or {}).get("reports", []):
        worst = max(backend["results"], key=lambda r: r[2])
        rows.append((f"6. /usage over {usage['rows']:,} rows, {backend['backend']} (slowest query)",
                     f"{fmt(worst[2], 1)} ms ({worst[0]})", "", "", f"<= {USAGE_BUDGET_MS} ms",
                     verdict(worst[2] <= USAGE_BUDGET_MS)))
        if backend.get("dashboard"):
            worst = max(backend["dashboard"], key=lambda r: r[2])
            rows.append((f"6b. dashboard overview over {usage['rows']:,} rows, {backend['backend']} (slowest)",
                         f"{fmt(worst[2], 1)} ms ({worst[0]})", "", "", f"<= {DASHBOARD_BUDGET_MS} ms",
                         verdict(worst[2] <= DASHBOARD_BUDGET_MS)))
    return rows


DETAIL_KEYS = [("rps", "rps", 0), ("p50_ms", "p50 ms", 2), ("p90_ms", "p90 ms", 2), ("p99_ms", "p99 ms", 2),
               ("errors", "errors", 0), ("cpu_ms_per_unit", "CPU ms / req or chunk", 3),
               ("peak_pss_mib", "peak PSS MiB", 0), ("upstream_cpu_s", "upstream CPU s", 2),
               ("loadgen_cpu_s", "load-gen CPU s", 2), ("ttfb_p50_ms", "TTFB p50", 1), ("ttfb_p99_ms", "TTFB p99", 1),
               ("lag_p50_ms", "lag p50 ms", 3), ("lag_p99_ms", "lag p99 ms", 3), ("chunks_out", "chunks out", 0),
               ("chunks_in", "chunks in", 0), ("merged_arrivals", "merged", 0)]


def detail_table(results, plan):
    lines = ["| scenario | target | " + " | ".join(label for _, label, _ in DETAIL_KEYS) + " |",
             "|---|---|" + "---|" * len(DETAIL_KEYS)]
    for scenario in plan:
        for target in ("direct", "passthrough", "gateway"):
            r = results.get((scenario.name, target))
            if r:
                cells = [fmt(float(r[k]) if isinstance(r.get(k), (int, float)) and digits else r.get(k), digits)
                         for k, _, digits in DETAIL_KEYS]
                lines.append(f"| {scenario.name} | {target} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("gunicorn", "gevent", "flask", "requests"))
    return (f"{platform.platform()}, {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}; "
            f"{versions}")


def gaps_section(results, row_share, loop_stalls):
    """Why a target missed, from what this run measured: the usage row's share of a chat call
    (bench/row_share.py, given as text), the CPU per call behind throughput at c=64, the merged
    reads of the pass-through and the upstream direct, and where a monitored worker's event loop
    stood still (bench/loop_stalls.py, given as text)."""
    lines = ["## The gaps, measured", ""]
    if row_share:
        lines += ["Targets 1a and 1b taken apart (`python bench/row_share.py`, run as part of this one): the "
                  "same chat call in-process: the gateway as shipped (its usage row journalled, moved into "
                  "the database in batches), with the row committed before the answer instead "
                  "(LOG_JOURNAL_INTERVAL=0), the same at synchronous=FULL (the WAL synced by every commit), "
                  "and with no row written at all.", "", row_share]
    cpu = {t: results.get(("chat c64 l0", t), {}).get("cpu_ms_per_unit") for t in ("passthrough", "gateway")}
    if all(cpu.values()):
        lines += [f"Target 2a: at c=64 (upstream 0 ms) the gateway's CPU per call was {cpu['gateway']:.3f} ms, the "
                  f"pass-through's {cpu['passthrough']:.3f} ms ({cpu['gateway'] / cpu['passthrough']:.2f}x); with "
                  "the two cores shared by the server, the upstream and the load generator, throughput "
                  "follows CPU per call.", ""]
    merged = {t: results.get(("stream light", t), {}).get("merged_arrivals") for t in ("direct", "passthrough", "gateway")}
    if merged["gateway"] is not None:
        lines += [f"Target 3a: merged reads in this run, gateway {merged['gateway']}, pass-through "
                  f"{merged['passthrough']}, the upstream read directly {merged['direct']}. A read that "
                  "completes two chunks sent 10 ms apart means the first waited that long somewhere on "
                  "the path (a process off the two cores, or busy); the pass-through's and the direct "
                  "count are that floor on this machine in this run.", ""]
    if loop_stalls:
        lines += [loop_stalls]
    return lines if len(lines) > 2 else []


def render(results, plan, usage, *, reps, command, fmt, elapsed, load, row_share=None, loop_stalls=None):
    rows = target_rows(results, usage)
    lines = ["# Gateway benchmark", "",
             f"Command: `{command}` (from the repository root; `make bench` runs it)", "",
             f"Machine: {machine()}. 1-minute load average {load[0]:.2f} at the start, {load[1]:.2f} at the "
             "end (the benchmark's own processes included; anything else running shares the two cores).", "",
             f"gunicorn.conf.py defaults for both the pass-through and the gateway (worker class and counts "
             f"as configured there, environment unset); upstream wire format: {fmt}; loopback only. "
             f"Each figure is the median of {reps} repetition(s); the targets run interleaved, "
             f"their order rotating each repetition. The chat scenarios run in slices, every target "
             f"once per slice, so each gateway slice has a pass-through slice measured seconds "
             f"before or after it; their ratios (or differences) are taken pair by pair, and the "
             f"target's measure is the median pair, with the lowest and highest shown. "
             f"Run took {elapsed:.0f} s.", "",
             "## Targets", "",
             "| target | gateway | pass-through | measure | limit | verdict |", "|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines += [""] + gaps_section(results, row_share, loop_stalls)
    lines += ["## Every figure", "",
              "CPU is the serving process tree's user+system time over the run (for `direct`, the fake "
              "upstream's); per request for chat, per forwarded chunk for streams. TTFB is the time to "
              "the first stamped chunk; lag is arrival time minus the upstream's send stamp; merged "
              "counts socket reads that completed more than one chunk.", "",
              detail_table(results, plan), ""]
    return "\n".join(lines)
