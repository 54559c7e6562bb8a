"""Sample a real gunicorn gateway worker under load with py-spy (GIL-holding samples only).

    python bench/spy_gateway.py [--seconds 10] [--stream] [--concurrency N] [--raw FILE]

One gevent worker (so one pid holds all the work), chat calls at concurrency 8 (with --stream: 16
streams of 20 chunks 10 ms apart at a time, the light-load scenario) against the fake upstream;
prints the share of samples in the gateway's own steps and in each leaf package, and writes
bench/results/pyspy.md (pyspy-stream.md with --stream; -cN appended with --concurrency N). Complements
profile_gateway.py, which has no server in the samples. Needs py-spy and ptrace rights (root).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter

import requests

import procs
import run
from run import KEY_VAR, Formats

# Installed next to this Python (the venv's bin) by `pip install -e '.[bench]'`.
PY_SPY = shutil.which("py-spy", path=os.path.dirname(sys.executable)) or shutil.which("py-spy") or "py-spy"
FRAME_LINE = re.compile(r":\d+\)")
# Inclusive shares worth showing besides the gateway's own functions.
LIBRARY_STEPS = ("Session.send (requests", "Schema.load (marshmallow", "Flask.full_dispatch_request")


def summarize(raw_path, top=30):
    """(samples, [(share, step)], [(share, leaf package)]) from py-spy's raw (collapsed) output."""
    inclusive, leaves, total = Counter(), Counter(), 0
    with open(raw_path) as fh:
        for line in fh:
            stack, _, count = line.rstrip().rpartition(" ")
            count = int(count)
            total += count
            frames = [FRAME_LINE.sub(")", frame) for frame in stack.split(";")]
            for frame in set(frames):
                inclusive[frame] += count
            leaf = re.search(r"\(([^/)]+)", frames[-1])
            leaves[leaf.group(1).removesuffix(".py") if leaf else frames[-1]] += count
    steps = [(100 * n / total, k) for k, n in inclusive.most_common()
             if "(inference_gateway/" in k or k.startswith(LIBRARY_STEPS)][:top]
    packages = [(100 * n / total, k) for k, n in leaves.most_common(15)]
    return total, steps, packages


def record(app, seconds, out_raw, stream=False, concurrency=None, virtual_key=False):
    with tempfile.TemporaryDirectory(prefix="igw-spy-") as tmp:
        upstream = procs.upstream(procs.free_port(), tmp).wait_ready()
        env = {"DATABASE_URL": f"sqlite:///{tmp}/gateway.db", "DATA_DIR": tmp, KEY_VAR: "bench",
               "GATEWAY_API_KEYS": "", "WEB_CONCURRENCY": "1"}
        if virtual_key:
            env.update(run.Stack.virtual_key_env(tmp))
        gateway = procs.gunicorn("gateway", app, procs.free_port(), env, tmp, "/healthz")
        try:
            gateway.wait_ready()
            requests.post(gateway.url + "/api/v1/inference/providers", timeout=10, json={
                "name": "bench-openai", "type": "openai", "envVar": KEY_VAR,
                "baseUrl": upstream.url + "/v1"}).raise_for_status()
            key = ["--key", run.Stack.create_virtual_key(gateway)] if virtual_key else []
            load = None
            worker = next(pid for pid in gateway.tree() if pid != gateway.proc.pid)
            body = json.dumps(Formats("openai").gateway_body("n20.i10" if stream else "l0"))
            mode = ["stream", "--chunks", "20"] if stream else ["chat"]
            load = subprocess.Popen(
                [sys.executable, os.path.join(procs.HERE, "load.py"), *mode, "--url",
                 gateway.url + "/api/v1/inference/chat" + ("/stream" if stream else ""), "--body", body,
                 "--concurrency", str(concurrency or (16 if stream else 8)), "--requests", "1000000",
                 "--max-seconds", str(seconds + 2), *key], stdout=subprocess.PIPE)
            time.sleep(1)
            subprocess.run([PY_SPY, "record", "-p", str(worker), "-d", str(seconds),
                            "-r", "500", "--gil", "-f", "raw", "-o", out_raw], check=True, capture_output=True)
            return json.loads(load.communicate(timeout=60)[0])
        finally:
            if load is not None and load.poll() is None:
                load.kill()
            gateway.stop()
            upstream.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--stream", action="store_true", help="streams (/chat/stream) instead of chat calls")
    parser.add_argument("--concurrency", type=int, help="calls at a time (default 8, streams 16)")
    parser.add_argument("--virtual-key", action="store_true",
                        help="calls carry a virtual key with rpm, tpm and a budget, counters in TEST_REDIS_URL")
    parser.add_argument("--raw", help="also keep py-spy's raw (collapsed) stacks in this file")
    args = parser.parse_args()
    with tempfile.NamedTemporaryFile(suffix=".txt") as raw:
        load = record("wsgi:app", args.seconds, raw.name, args.stream, args.concurrency, args.virtual_key)
        if args.raw:
            shutil.copyfile(raw.name, args.raw)
        total, steps, packages = summarize(raw.name)
    what = (f"{args.concurrency or 16} light streams at a time" if args.stream
            else f"chat load at concurrency {args.concurrency or 8}")
    lines = [f"# py-spy: one gunicorn gevent worker under {what}",
             "", "Command: `" + " ".join(["python bench/spy_gateway.py", *sys.argv[1:]]) + "`", "",
             f"{total} GIL-holding samples at 500 Hz over {args.seconds} s; the load meanwhile: "
             f"{load['rps']} rps, p50 {load['p50_ms']} ms (the sampler slows the worker).", "",
             "Leaf package (where the CPU was when sampled): "
             + ", ".join(f"{k} {share:.0f}%" for share, k in packages) + ".", "",
             "| share of samples (inclusive) | step |", "|---|---|"]
    lines += [f"| {share:.1f}% | `{k}` |" for share, k in steps]
    text = "\n".join(lines) + "\n"
    print(text)
    name = "pyspy-stream" if args.stream else "pyspy"
    if args.concurrency:
        name += f"-c{args.concurrency}"
    if args.virtual_key:
        name += "-vkey"
    with open(os.path.join(procs.HERE, "results", name + ".md"), "w") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
