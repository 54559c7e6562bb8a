"""Profile the gateway's hot path (POST /chat, then /chat/stream) with pyinstrument.

    python bench/profile_gateway.py [--calls 2000] [--streams 200] [--html bench/results/profile.html]

The app runs in this process (its own factory, a fresh SQLite file, default settings) against the
fake upstream in a subprocess, driven by Flask's test client: no gunicorn or network client in the
samples, only what the gateway does per call. Prints the functions that take the most time, own
time first, and writes bench/results/profile.md.
"""
import argparse
import os
import sys
import tempfile
import time
from collections import Counter

from pyinstrument import Profiler

import procs
from run import KEY_VAR, Formats

sys.path.insert(0, procs.ROOT)
from inference_gateway import create_app  # noqa: E402

BODY = Formats("openai").gateway_body


PACKAGES = ("inference_gateway", "peewee", "playhouse", "marshmallow", "flask", "werkzeug", "requests",
            "urllib3", "prometheus_client", "blinker", "json", "logging", "http", "socket", "sqlite3", "psycopg2")


def package_of(path):
    for name in PACKAGES:
        if f"/{name}/" in path or path.endswith(f"/{name}.py"):
            return name
    if "/lib/python3" in path and "site-packages" not in path:
        return "stdlib (other)"
    return "other"


def own_and_total(session):
    """({function: own s}, {function: total s}, {package: own s}) from a pyinstrument session.

    pyinstrument puts a function's own time in a synthetic `[self]` child; it is added to the parent."""
    own, total, packages = Counter(), Counter(), Counter()

    def path_of(frame):
        while frame.parent is not None and (frame.is_synthetic or (frame.file_path or "<").startswith("<")):
            frame = frame.parent  # a C function (or its own time): charged to its Python caller
        return frame.file_path or ""

    def walk(frame, key, stack):
        if frame.is_synthetic:
            own[key] += frame.time
            packages[package_of(path_of(frame))] += frame.time
            return
        path = path_of(frame)
        key = f"{frame.function} ({os.path.relpath(frame.file_path or '?', procs.ROOT)}:{frame.line_no})"
        if key not in stack:  # a recursive function counts once in its own total
            total[key] += frame.time
        if not frame.children:
            own[key] += frame.time
            packages[package_of(path)] += frame.time
        for child in frame.children:
            walk(child, key, stack | {key})

    walk(session.root_frame(), None, frozenset())
    return own, total, packages


def profile(client, path, body, count, stream):
    profiler = Profiler(interval=0.0002)
    started = time.perf_counter()
    profiler.start()
    for _ in range(count):
        resp = client.post(path, json=body, buffered=not stream)
        if stream:
            b"".join(resp.response)
            resp.close()
        assert resp.status_code == 200, resp.get_data()
    profiler.stop()
    per_call = (time.perf_counter() - started) / count * 1000
    return profiler.last_session, per_call


def section(title, session, per_call, count, top):
    own, total, packages = own_and_total(session)
    wall = session.duration
    lines = [f"## {title}", "", f"{count} calls, {per_call:.3f} ms each under the profiler "
             f"(sampling adds to it; compare shares, not absolutes).", "",
             "Own time by package (a C function such as a socket read is charged to its caller's):", "",
             "| package | own % |", "|---|---|"]
    lines += [f"| {name} | {100 * t / wall:.1f} |" for name, t in packages.most_common()]
    lines += ["", "Functions with the most own time:", "", "| own % | total % | function |", "|---|---|---|"]
    lines += [f"| {100 * t / wall:.1f} | {100 * total[k] / wall:.1f} | `{k}` |" for k, t in own.most_common(top)]
    # The gateway's own steps, whatever their own-time rank.
    lines += ["", "The gateway's steps (inclusive time):", ""]
    steps = sorted(((t, k) for k, t in total.items() if k.split(" (")[1].startswith("inference_gateway")),
                   reverse=True)
    lines += [f"- {100 * t / wall:.1f}% `{k}`" for t, k in steps[:top]]
    return "\n".join(lines + [""])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", default=os.path.join(procs.HERE, "results", "profile.md"))
    parser.add_argument("--html", help="also write pyinstrument's interactive HTML for /chat here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="igw-profile-") as tmp:
        upstream = procs.upstream(procs.free_port(), tmp).wait_ready()
        try:
            os.environ[KEY_VAR] = "bench"
            app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/gateway.db", "DATA_DIR": tmp,
                              "GATEWAY_API_KEYS": ""})
            client = app.test_client()
            client.post("/api/v1/inference/providers", json={
                "name": "bench-openai", "type": "openai", "envVar": KEY_VAR, "baseUrl": upstream.url + "/v1"})
            path = "/api/v1/inference/chat"
            profile(client, path, BODY("l0"), 100, False)  # warm: pools, imports, caches
            chat, chat_ms = profile(client, path, BODY("l0"), args.calls, False)
            stream, stream_ms = profile(client, path + "/stream", BODY("n20.i0"), args.streams, True)
        finally:
            upstream.stop()
    text = "\n".join([
        "# Gateway hot-path profile", "",
        "Command: `" + " ".join(["python bench/profile_gateway.py", *sys.argv[1:]]) + "`", "",
        "pyinstrument, in-process test client, fresh SQLite, default settings, fake upstream with 0 ms "
        "latency. 'own' is time in the function itself, 'total' includes what it calls.", "",
        section("POST /chat", chat, chat_ms, args.calls, args.top),
        section("POST /chat/stream (20 chunks, no delay)", stream, stream_ms, args.streams, args.top)])
    print(text)
    with open(args.out, "w") as fh:
        fh.write(text)
    if args.html:
        with open(args.html, "w") as fh:
            fh.write(chat_html(chat))


def chat_html(session):
    from pyinstrument.renderers import HTMLRenderer

    return HTMLRenderer().render(session)


if __name__ == "__main__":
    main()
