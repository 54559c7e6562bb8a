"""Where target 5's memory goes: PSS per process of the gateway's tree, at rest and at its peak under
the 1,000 streams, by kind of mapping; checkouts side by side, run alternately.

    python bench/memory.py [--rounds 2] [--root /work/main ...]

Each round starts a fresh gateway per checkout (this one, then each --root; gunicorn.conf.py's
defaults, a fresh SQLite file), makes 20 chat calls (the rest figure: the app loaded, a price looked
up), then runs `make bench`'s "stream capacity" load once while sampling every 0.25 s. PSS counts a
page shared by n processes as 1/n in each, so the tree's total counts it once. The peak depends on
how many streams are open at once, which the machine's load changes; the rest figure hardly does.
"""
import argparse
import collections
import tempfile
import threading

import requests

import procs
import run


def breakdown(pid):
    """{kind of mapping: PSS kB} of one process (/proc/PID/smaps)."""
    out, kind = collections.Counter(), None
    with open(f"/proc/{pid}/smaps") as fh:
        for line in fh:
            fields = line.split()
            if fields[0].endswith(":"):
                if fields[0] == "Pss:" and kind:
                    out[kind] += int(fields[1])
                continue
            name = fields[5] if len(fields) >= 6 else "[anon]"
            kind = "file" if name.startswith("/") else name
    return out


def tree(server):
    """(total MiB, [MiB per process], {kind: MiB})."""
    kinds, per = collections.Counter(), []
    for pid in server.tree():
        try:
            one = breakdown(pid)
        except OSError:
            continue
        kinds.update(one)
        per.append(sum(one.values()) / 1024)
    return sum(per), per, {k: v / 1024 for k, v in kinds.items()}


def measure(root, tmp):
    fmt = run.Formats("openai")
    stack = run.Stack.__new__(run.Stack)
    stack.fmt, stack.upstream = fmt, procs.upstream(procs.free_port(), tmp).wait_ready()
    gateway = stack.start_gateway("gateway", "wsgi:app", tmp, root=root)
    try:
        for _ in range(20):
            requests.post(gateway.url + "/api/v1/inference/chat", json=fmt.gateway_body("l0"), timeout=10).raise_for_status()
        rest, peak, stop = tree(gateway), [(0, [], {})], threading.Event()

        def sample():
            while not stop.wait(0.25):
                now = tree(gateway)
                if now[0] > peak[0][0]:
                    peak[0] = now

        sampler = threading.Thread(target=sample)
        sampler.start()
        scenario = next(s for s in run.scenarios(False) if s.name == "stream capacity")
        try:
            result = run.load(scenario, gateway.url + "/api/v1/inference/chat/stream",
                              fmt.gateway_body(scenario.model), scenario.concurrency, scenario.requests)
        finally:
            stop.set()
            sampler.join()
        return rest, peak[0], result
    finally:
        gateway.stop()
        stack.upstream.stop()


def show(total, per, kinds):
    parts = ", ".join(f"{mib:.1f}" for mib in per)
    big = ", ".join(f"{k} {v:.1f}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]) if v >= 1)
    return f"{total:6.1f} MiB (processes {parts}; {big})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--root", action="append", default=[], help="another checkout to compare (its own code and gunicorn.conf.py)")
    args = parser.parse_args()
    roots = [procs.ROOT] + args.root
    for round_ in range(args.rounds):
        for root in roots:
            with tempfile.TemporaryDirectory(prefix="igw-memory-") as tmp:
                rest, peak, result = measure(root, tmp)
            print(f"round {round_ + 1} {root}\n  rest {show(*rest)}\n  peak {show(*peak)}\n  "
                  f"{result['errors']} errors, TTFB p99 {result['ttfb_p99_ms']:,.0f} ms", flush=True)


if __name__ == "__main__":
    main()
