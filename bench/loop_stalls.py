"""Where a gateway worker's event loop stood still during light streams (target 3a's why).

    bench/run.py runs it after the targets, on the stack it started: one more gateway with gevent's
    blocking monitor on (GEVENT_MONITOR_THREAD_ENABLE, GEVENT_MAX_BLOCKING_TIME), the light-stream
    scenario once against it, then the monitor's reports from the measured part of its log.

A merged read means a chunk waited 10 ms or more on its way. The monitor reports every greenlet
that held a worker's loop past MAX_BLOCKING_SECONDS, with its stack; each report is charged to the
socket call the loop stood still in (a send or close on loopback does not take milliseconds: the
process was off the CPU), else to the innermost two frames of the gateway's own code.
A whole process off the CPU between two greenlet switches is not seen by the monitor (its thread
is stopped too), so the reports are a lower bound.
"""
import os
from collections import Counter

MAX_BLOCKING_SECONDS = 0.004
REPORT = "appears to be blocked"


def measure(stack, scenario, tmp, load):
    """{"merged": merged reads, "chunks": chunks in, "stalls": Counter(place: reports)}; `load` is
    bench/run.py's, for the warm-up."""
    env = {"GEVENT_MONITOR_THREAD_ENABLE": "true", "GEVENT_MAX_BLOCKING_TIME": str(MAX_BLOCKING_SECONDS)}
    server = stack.start_gateway("monitored", "wsgi:app", tmp, env=env)
    stack.by_target["monitored"] = server
    try:
        url, body = stack.request("monitored", scenario)
        load(scenario, url, body, scenario.concurrency, scenario.warmup or scenario.concurrency)
        start = os.path.getsize(server.log_path)  # start-up and warm-up reports are not counted
        result = stack.measure("monitored", scenario, warm=False)
        with open(server.log_path, errors="replace") as log:
            log.seek(start)
            text = log.read()
    finally:
        server.stop()
        del stack.by_target["monitored"]
    return {"merged": result["merged_arrivals"], "chunks": result["chunks_in"], "stalls": places(text)}


def places(text):
    """Counter of where each monitor report in `text` stood: its innermost telling frame."""
    found = Counter()
    for report in text.split(REPORT)[1:]:
        stack = report.split("Info:", 1)[0]
        frames = [line.strip() for line in stack.splitlines() if line.strip().startswith("File ")]
        found[_place(frames)] += 1
    return found


def _place(frames):
    """A socket call when the loop stood still in one, else the innermost two frames of the
    gateway's own ('request_log.py insert_row > db.py cursor'), else the innermost frame."""
    if frames and "/gevent/_socket" in frames[-1]:
        return "a socket call (the process was off the CPU)"
    for index in range(len(frames) - 1, -1, -1):
        if "/inference_gateway/" in frames[index]:
            ours = [_short(f) for f in frames[:index + 1] if "/inference_gateway/" in f]
            return "gateway: " + " > ".join(ours[-2:])
    return "elsewhere: " + (frames[-1].partition(", in ")[2] if frames else "no stack")


def _short(frame):
    """'File ".../inference_gateway/api/chat.py", line 55, in __next__' -> 'api/chat.py __next__'."""
    path, _, function = frame.partition(", in ")
    return f"{path.split('/inference_gateway/', 1)[1].split(chr(34))[0]} {function}"


def render(found):
    stalls = found["stalls"]
    lines = [f"Target 3a: where a worker's loop stood still. The light-stream scenario once more against a "
             f"gateway under gevent's blocking monitor (every hold of {MAX_BLOCKING_SECONDS * 1000:.0f} ms or "
             f"more, `bench/loop_stalls.py`): {found['chunks']} chunks, {found['merged']} merged reads, "
             f"{sum(stalls.values())} reports after warm-up."]
    if stalls:
        lines += ["", "| where the loop stood still | reports |", "|---|---|"]
        lines += [f"| {place} | {count} |" for place, count in stalls.most_common()]
    return "\n".join(lines) + "\n"
