"""Chat CPU per call at concurrency 1: the pass-through against gateway variants, slice by slice.

    python bench/variants.py [--rounds 8] [--requests 500]
        [--env NAME:VAR=VALUE[,VAR=VALUE...]]... [--ref NAME:COMMIT]...

Every variant is a gateway of its own (gunicorn.conf.py defaults, fresh SQLite): `gateway` is this
checkout as configured by default; `--env` adds one with extra settings (for instance
`--env normal-sync:SQLITE_SYNCHRONOUS=NORMAL`); `--ref` one serving an earlier commit, checked out
in a temporary git worktree (for instance `--ref before:0243ebd`). Each round measures every
target once, back to back, the order rotating; the table gives each target's median CPU per call
and its median ratio to the pass-through of the same round. What one change is worth, measured on
a machine whose speed drifts, without running the whole `make bench`.
"""
import argparse
import os
import statistics
import subprocess
import tempfile

import procs
import run


def parse_env(spec):
    name, _, pairs = spec.partition(":")
    return name, dict(pair.split("=", 1) for pair in pairs.split(",") if pair)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--requests", type=int, default=500, help="chat calls per target per round")
    parser.add_argument("--env", action="append", default=[], help="NAME:VAR=VALUE[,VAR=VALUE...]")
    parser.add_argument("--ref", action="append", default=[], help="NAME:COMMIT")
    args = parser.parse_args()
    scenario = run.Scenario("chat c1", "chat", "l0", 1, args.requests, warmup=50)
    with tempfile.TemporaryDirectory(prefix="igw-variants-") as tmp:
        stack = run.Stack(run.Formats("openai"), tmp)
        worktrees = []
        try:
            for name, env in map(parse_env, args.env):
                stack.by_target[name] = stack.start_gateway(name, "wsgi:app", tmp, env=env)
            for spec in args.ref:
                name, _, commit = spec.partition(":")
                path = os.path.join(tmp, "ref-" + name)
                subprocess.run(["git", "-C", procs.ROOT, "worktree", "add", "--detach", "-q", path, commit], check=True)
                worktrees.append(path)
                stack.by_target[name] = stack.start_gateway(name, "wsgi:app", tmp, root=path)
            targets = ["passthrough"] + [t for t in stack.by_target if t not in ("direct", "passthrough")]
            cpu = {t: [] for t in targets}
            for round_ in range(args.rounds):
                order = targets[round_ % len(targets):] + targets[:round_ % len(targets)]
                for target in order:
                    cpu[target].append(stack.measure(target, scenario)["cpu_ms_per_unit"])
                print(f"round {round_ + 1}/{args.rounds}: " + ", ".join(f"{t} {cpu[t][-1]:.3f} ms" for t in targets),
                      flush=True)
        finally:
            for server in stack.by_target.values():
                server.stop()
            for path in worktrees:
                subprocess.run(["git", "-C", procs.ROOT, "worktree", "remove", "--force", path], check=False)
    print("\n| target | CPU ms per call (median) | ratio to the pass-through (median of rounds) |\n|---|---|---|")
    for target in targets:
        ratios = [c / p for c, p in zip(cpu[target], cpu["passthrough"])]
        print(f"| {target} | {statistics.median(cpu[target]):.3f} | {statistics.median(ratios):.2f}x |")


if __name__ == "__main__":
    main()
