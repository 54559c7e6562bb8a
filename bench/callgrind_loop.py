"""Instructions per chat call, gateway against the pass-through, under valgrind's callgrind.

    python bench/callgrind_loop.py [--calls 200] [--variants passthrough,gateway,v1,vkey]

Each variant runs in a process of its own under `valgrind --tool=callgrind`, twice: with `--calls`
calls and with twice as many, after the same warm-up; the difference over `--calls` is the
instructions one call costs, start-up and warm-up cancelled out. Instruction counts do not depend
on what else runs on the machine (wall and CPU time do, on a shared VM), so this is the measure for
attributing user-space work; time spent in the kernel (the usage row's fsync and file writes) is
not in it. The app runs in-process (test clients, no gunicorn) against the fake upstream in a
subprocess (outside valgrind). Variants: `passthrough` (bench/passthrough.py), `gateway` (POST
/api/v1/inference/chat), `norow` (the same without its usage row: a measuring stick), `v1` (POST /v1/chat/completions), `vkey` (the native chat with a virtual
key carrying rpm, tpm and a budget; needs TEST_REDIS_URL or REDIS_URL). The callgrind output files
stay in --out for `callgrind_annotate`.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import procs
from run import KEY_VAR, PRICES, Formats

VARIANTS = ("passthrough", "gateway", "v1", "vkey", "norow")


def child(variant, calls, tmp, upstream_url):
    """The loop itself (run under valgrind): warm-up, then `calls` calls."""
    import logging

    logging.disable(logging.WARNING)
    fmt = Formats("openai")
    os.environ["UPSTREAM_URL"] = upstream_url + fmt.path
    os.environ[KEY_VAR] = "bench"
    sys.path.insert(0, procs.ROOT)
    headers = {}
    if variant == "passthrough":
        import passthrough

        client, path, body = passthrough.app.test_client(), "/chat", fmt.upstream_body("l0", False)
    else:
        from inference_gateway import create_app

        prices = os.path.join(tmp, "prices.json")
        with open(prices, "w") as fh:
            json.dump(PRICES, fh)
        # Under valgrind a call takes ~50 times as long, so a cache kept for some seconds would miss
        # ~50 times as often per call as in use (a database query each time): kept for a minute here,
        # and the provider-health counts flushed every two minutes instead of seconds, for the same reason.
        config = {"DATABASE_URL": f"sqlite:///{tmp}/gateway.db", "DATA_DIR": tmp, "GATEWAY_API_KEYS": "",
                  "PRICES_FILE": prices, "KEY_CACHE_SECONDS": 60, "PROVIDER_CACHE_SECONDS": 60,
                  "HEALTH_FLUSH_SECONDS": 120}
        if variant == "vkey":
            config.update(GATEWAY_ADMIN_KEYS="bench-admin", LIMITS_REDIS_PREFIX=f"igw-callgrind-{os.getpid()}",
                          REDIS_URL=os.environ.get("TEST_REDIS_URL") or os.environ["REDIS_URL"])
        client = create_app(config).test_client()
        if variant == "norow":  # the measuring stick: the row not written at all (bench/row_share.py)
            from inference_gateway.store import request_log

            request_log.writer.store = lambda *row: None
        admin = {"Authorization": "Bearer bench-admin"} if variant == "vkey" else {}
        resp = client.post("/api/v1/inference/providers", headers=admin, json={
            "name": "bench-openai", "type": "openai", "envVar": KEY_VAR, "baseUrl": upstream_url + "/v1"})
        assert resp.status_code in (200, 201), resp.get_data()
        if variant == "v1":
            path, body = "/v1/chat/completions", fmt.compat_body("l0")
        else:
            path, body = "/api/v1/inference/chat", fmt.gateway_body("l0")
        if variant == "vkey":
            resp = client.post("/api/v1/inference/keys", headers=admin, json={
                "name": f"bench-{os.getpid()}", "rpm": 2 ** 31 - 1, "tpm": 2 ** 31 - 1, "budgetUsd": 10 ** 6})
            assert resp.status_code == 201, resp.get_data()
            headers = {"Authorization": "Bearer " + resp.get_json()["data"]["key"]}
    for _ in range(50 + calls):
        resp = client.post(path, json=body, headers=headers)
        assert resp.status_code == 200, resp.get_data()
    if variant != "passthrough":  # the journalled rows stored within the count (store/journal.py)
        from inference_gateway.store import request_log

        request_log.catch_up()


def instructions(out_file):
    with open(out_file) as fh:
        for line in fh:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError(f"no totals in {out_file}")


def run_valgrind(variant, calls, tmp, upstream_url, out_dir):
    out_file = os.path.join(out_dir, f"callgrind.{variant}.{calls}")
    argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}", sys.executable,
            os.path.abspath(__file__), "--child", variant, "--calls", str(calls), "--tmp", tmp,
            "--upstream", upstream_url]
    subprocess.run(argv, check=True, stderr=subprocess.DEVNULL)
    return instructions(out_file)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--variants", default="passthrough,gateway,v1")
    parser.add_argument("--out", default=None, help="directory for the callgrind files (default: a temp dir)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--tmp", help=argparse.SUPPRESS)
    parser.add_argument("--upstream", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.calls, args.tmp, args.upstream)
    variants = args.variants.split(",")
    out_dir = args.out or tempfile.mkdtemp(prefix="igw-callgrind-")
    os.makedirs(out_dir, exist_ok=True)
    per_call = {}
    with tempfile.TemporaryDirectory(prefix="igw-callgrind-run-") as tmp:
        upstream = procs.upstream(procs.free_port(), tmp).wait_ready()
        try:
            for variant in variants:
                counts = []
                for n in (args.calls, 2 * args.calls):
                    db_dir = tempfile.mkdtemp(dir=tmp)
                    counts.append(run_valgrind(variant, n, db_dir, upstream.url, out_dir))
                per_call[variant] = (counts[1] - counts[0]) / args.calls
        finally:
            upstream.stop()
    if args.json:
        print(json.dumps(per_call))
        return
    base = per_call.get("passthrough")
    print(f"callgrind files in {out_dir}\n\n| variant | instructions per call | vs pass-through |\n|---|---|---|")
    for variant, count in per_call.items():
        ratio = f"{count / base:.2f}x" if base else "-"
        print(f"| {variant} | {count:,.0f} | {ratio} |")


if __name__ == "__main__":
    main()
