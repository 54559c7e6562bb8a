"""The virtual keys' Redis fast path against redis-py's documented way, under gevent as a worker runs.

    TEST_REDIS_URL=redis://127.0.0.1:6379/0 python bench/redis_scripts.py [--rounds 15] [--calls 2000]

A gevent-patched process (as a gunicorn gevent worker is) runs the reservation script both ways, round
by round with the order alternating: `ScriptRunner.run` (store/limit_counters.py: connections kept by
the counters) and the registered script called as redis-py documents it (`Script.__call__`, a
connection from the client's pool for each call). CPU microseconds per call, this process only
(Redis's own time is the same for both). A chat call with a virtual key makes two such calls.
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from inference_gateway.store.limit_counters import Limits, RedisCounters  # noqa: E402

LIMITS = Limits(rpm=2 ** 31 - 1, tpm=2 ** 31 - 1, budget_nano=10 ** 18)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    url = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL")
    if not url:
        sys.exit("set TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
    counters = RedisCounters(url, prefix=f"igw-bench-scripts-{os.getpid()}")
    args_of = counters._keys("k", "total"), ["0", -1, -1, -1, -1, 1, 1, "r", 900, 0]

    def fast():
        counters.scripts.run(counters._reserve, args_of[0], args_of[1], counters.errors)

    def documented():
        counters._reserve(keys=args_of[0], args=args_of[1])

    def cpu_us(fn):
        started = time.process_time()
        for _ in range(args.calls):
            fn()
        return (time.process_time() - started) / args.calls * 1e6

    fast(), documented()
    timed = ([], [])
    for round_ in range(args.rounds):
        sides = [(0, fast), (1, documented)] if round_ % 2 == 0 else [(1, documented), (0, fast)]
        for side, fn in sides:
            timed[side].append(cpu_us(fn))
    for key in counters.client.scan_iter(f"{counters.prefix}:*"):
        counters.client.delete(key)
    saved = [d - f for f, d in zip(*timed)]
    print("| path | CPU us per call (median) |\n|---|---|")
    print(f"| ScriptRunner.run | {statistics.median(timed[0]):.1f} |")
    print(f"| Script.__call__ (pool) | {statistics.median(timed[1]):.1f} |")
    print(f"\nsaved per call: {statistics.median(saved):.1f} us (median; {min(saved):.1f} to {max(saved):.1f} over "
          f"{args.rounds} rounds of {args.calls} calls); load average {os.getloadavg()[0]:.2f} at the end.")


if __name__ == "__main__":
    main()
