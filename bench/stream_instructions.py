"""Instructions per streamed chunk under callgrind: the pass-through against this checkout and earlier
commits, repeatable whatever else the machine runs (target 3c's attribution).

    python bench/stream_instructions.py [--streams 20] [--chunks 20] [--ref NAME:COMMIT]...

Each target runs in a process of its own under `valgrind --tool=callgrind`: the application
in-process (Flask test client, no gunicorn) streaming from the fake upstream (a subprocess, not
counted) `--streams` streams of `--chunks` chunks each (make bench's light streams have 20), after
30 streams of warm-up. Callgrind's counters are dumped before and after the measured streams
(`callgrind_control -d`), so the count is theirs alone: user-space instructions, not the kernel's
(a commit's fsync is not in it) nor gunicorn's. `--ref` adds an earlier commit, checked out in a
temporary git worktree. Counts move by a few per cent between runs (hash seeds, the collector).
"""
import argparse
import glob
import logging
import os
import re
import subprocess
import sys
import tempfile

import procs

PROMPT = [{"role": "user", "content": "Write one sentence about foxes."}]


def inner(root, upstream, target, streams, chunks):
    """The measured loop, run under callgrind (`--inner`)."""
    sys.path[:0] = [root, procs.HERE]
    logging.disable(logging.WARNING)
    os.environ.update({"BENCH_UPSTREAM_API_KEY": "bench", "UPSTREAM_URL": upstream + "/v1/chat/completions"})
    tmp, model = tempfile.mkdtemp(prefix="igw-instr-"), f"n{chunks}.i0"
    if target == "passthrough":
        import passthrough

        client, path = passthrough.app.test_client(), "/chat/stream"
        body = {"model": model, "messages": PROMPT, "max_tokens": 64, "stream": True,
                "stream_options": {"include_usage": True}}
    else:
        from inference_gateway import create_app

        client = create_app({"DATABASE_URL": f"sqlite:///{tmp}/g.db", "DATA_DIR": tmp, "GATEWAY_API_KEYS": ""}).test_client()
        client.post("/api/v1/inference/providers", json={"name": "bench-openai", "type": "openai",
                                                         "envVar": "BENCH_UPSTREAM_API_KEY", "baseUrl": upstream + "/v1"})
        path, body = "/api/v1/inference/chat/stream", {"model": f"bench-openai/{model}", "messages": PROMPT, "maxTokens": 64}

    def stream():
        resp = client.post(path, json=body, buffered=False)
        assert resp.status_code == 200, resp.get_data()
        for _ in resp.response:
            pass
        resp.close()

    def dump():
        # The journalled rows moved into the database first (store/journal.py, where the checkout
        # has one), so each part pays for storing its own streams' rows.
        catch_up = getattr(sys.modules.get("inference_gateway.store.request_log"), "catch_up", None)
        if catch_up is not None:
            catch_up()
        subprocess.run(["callgrind_control", "-d", str(os.getpid())], capture_output=True, check=True)

    for _ in range(30):
        stream()
    dump()
    for _ in range(streams):
        stream()
    dump()


def count(root, upstream, target, streams, chunks, tmp):
    """Instructions per chunk of `target` served from the checkout at `root`."""
    out = os.path.join(tmp, f"{os.path.basename(root)}-{target}.cg")
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, __file__, "--inner",
                    root, upstream, target, str(streams), str(chunks)], check=True, capture_output=True)
    # Part 1 is everything up to the first dump (imports, warm-up), part 2 the measured streams.
    with open(out + ".2") as fh:
        total = int(re.search(r"^summary: (\d+)", fh.read(), re.M).group(1))
    for path in glob.glob(out + "*"):
        os.remove(path)
    return total / (streams * chunks)


def main():
    if sys.argv[1:2] == ["--inner"]:
        root, upstream, target, streams, chunks = sys.argv[2:7]
        return inner(root, upstream, target, int(streams), int(chunks))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--ref", action="append", default=[], help="NAME:COMMIT")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="igw-instr-") as tmp:
        upstream, worktrees = procs.upstream(procs.free_port(), tmp).wait_ready(), []
        try:
            targets = [("passthrough", procs.ROOT, "passthrough"), ("gateway", procs.ROOT, "gateway")]
            for spec in args.ref:
                name, _, commit = spec.partition(":")
                path = os.path.join(tmp, "ref-" + name)
                subprocess.run(["git", "-C", procs.ROOT, "worktree", "add", "--detach", "-q", path, commit], check=True)
                worktrees.append(path)
                targets.append((name, path, "gateway"))
            print("| target | instructions per chunk | ratio to the pass-through |\n|---|---|---|", flush=True)
            base = None
            for name, root, target in targets:
                per_chunk = count(root, upstream.url, target, args.streams, args.chunks, tmp)
                base = base or per_chunk
                print(f"| {name} | {per_chunk:,.0f} | {per_chunk / base:.2f}x |", flush=True)
        finally:
            upstream.stop()
            for path in worktrees:
                subprocess.run(["git", "-C", procs.ROOT, "worktree", "remove", "--force", path], check=False)


if __name__ == "__main__":
    main()
