"""Load generator: chat calls or SSE streams at a fixed concurrency, one JSON report on stdout.

    python bench/load.py chat   --url http://127.0.0.1:3000/api/v1/inference/chat --body '{...}' \
        --concurrency 64 --requests 3000
    python bench/load.py stream --url http://127.0.0.1:3000/api/v1/inference/chat/stream --body '{...}' \
        --concurrency 16 --requests 64 --chunks 20

A raw HTTP/1.1 client on gevent (a greenlet per connection), so that 1,000 open streams cost this
process little and every socket read is seen: a read that completes two stamped chunks means the
proxy (or the network) merged them. Chat connections are kept alive; each stream has its own.
Reports RPS, latency percentiles and errors; for streams, TTFB (first stamped chunk), time to last
byte, per-chunk lag (arrival minus the upstream's stamp), merged arrivals and chunks in vs out; and
its own CPU seconds, since it shares the machine with what it measures.
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlparse  # noqa: E402

from gevent.pool import Pool  # noqa: E402

from fake_upstream import read_stamps  # noqa: E402

STREAM_END = (b"[DONE]", b'"message_stop"')
RECV = 65536


class Dechunker:
    """Incremental decoder for `Transfer-Encoding: chunked` bodies."""

    def __init__(self):
        self.buf = b""
        self.remaining = 0
        self.done = False

    def feed(self, data):
        self.buf += data
        out = []
        while not self.done:
            if self.remaining == 0:
                end = self.buf.find(b"\r\n")
                if end < 0:
                    break
                line, self.buf = self.buf[:end], self.buf[end + 2:]
                if not line:  # the CRLF that closes a chunk's data
                    continue
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    self.done = True
                    break
                self.remaining = size
            piece = self.buf[:self.remaining]
            out.append(piece)
            self.buf = self.buf[len(piece):]
            self.remaining -= len(piece)
            if self.remaining:
                break
        return b"".join(out)


class Connection:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.sock = None
        self.buf = b""

    def open(self):
        if self.sock is None:
            self.sock = socket.create_connection((self.host, self.port), timeout=120)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buf = b""

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def send(self, request):
        self.open()
        self.sock.sendall(request)

    def recv(self):
        data = self.sock.recv(RECV)
        if not data:
            raise ConnectionError("server closed the connection")
        return data

    def read_head(self):
        """(status, headers dict) of the next response; body bytes already read stay in self.buf."""
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.recv()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(lines[0].split()[1]), headers

    def read_body(self, headers):
        if "content-length" in headers:
            length = int(headers["content-length"])
            while len(self.buf) < length:
                self.buf += self.recv()
            body, self.buf = self.buf[:length], self.buf[length:]
            return body
        decoder, body = Dechunker(), []
        body.append(decoder.feed(self.buf))
        while not decoder.done:
            body.append(decoder.feed(self.recv()))
        self.close()  # leftovers of the chunked framing are not worth parsing for a benchmark
        return b"".join(body)


def build_request(url, body, keep_alive, key=None):
    path = url.path or "/"
    auth = f"Authorization: Bearer {key}\r\n" if key else ""
    return (f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: application/json\r\n"
            f"Accept: */*\r\n{auth}Content-Length: {len(body)}\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n").encode() + body


class Stats:
    def __init__(self):
        self.latencies = []
        self.errors = []
        self.ttfb = []
        self.lags = []
        self.chunks_out = 0
        self.merged_arrivals = 0
        self.streams_incomplete = 0

    def error(self, message):
        if len(self.errors) < 1000:
            self.errors.append(message)
        else:
            self.errors[-1] = f"...and more; last: {message}"


def chat_worker(url, request, stats, todo, deadline):
    conn = Connection(url.hostname, url.port)
    while todo and time.monotonic() < deadline:
        todo.pop()
        started = time.perf_counter()
        try:
            conn.send(request)
            status, headers = conn.read_head()
            conn.read_body(headers)
            if headers.get("connection", "").lower() == "close":
                conn.close()
        except (OSError, ValueError) as exc:
            conn.close()
            stats.error(f"{type(exc).__name__}: {exc}")
            continue
        if status != 200:
            stats.error(f"HTTP {status}")
            continue
        stats.latencies.append(time.perf_counter() - started)


def one_stream(url, request, stats, chunks):
    conn = Connection(url.hostname, url.port)
    started = time.perf_counter()
    seen, pending, text = set(), b"", b""
    try:
        conn.send(request)
        status, headers = conn.read_head()
        if status != 200:
            stats.error(f"HTTP {status}: {conn.read_body(headers)[:200]!r}")
            return
        decoder = Dechunker()
        data = conn.buf
        while True:
            now_wall, now = time.time(), time.perf_counter()
            pending += decoder.feed(data)
            events = pending.split(b"\n\n")
            pending = events.pop()
            stamped = 0
            for event in events:
                text = event
                for index, _, sent_at in read_stamps(event.decode()):
                    if not seen:
                        stats.ttfb.append(now - started)
                    seen.add(index)
                    stamped += 1
                    stats.lags.append(now_wall - sent_at)
            stats.merged_arrivals += stamped > 1
            if decoder.done:
                break
            data = conn.recv()
        stats.latencies.append(time.perf_counter() - started)
    except (OSError, ValueError) as exc:
        stats.error(f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()
        stats.chunks_out += len(seen)
    if len(seen) != chunks or not any(marker in text for marker in STREAM_END):
        stats.streams_incomplete += 1
        if b'"error"' in text:
            stats.error("stream ended with an error event: " + text[:300].decode(errors="replace"))


def stream_worker(url, request, stats, todo, deadline, chunks):
    while todo and time.monotonic() < deadline:
        todo.pop()
        one_stream(url, request, stats, chunks)


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1))))]


def ms(value):
    return None if value is None else round(value * 1000, 3)


def run(mode, url, body, concurrency, requests, max_seconds, chunks=0, warmup=0, key=None):
    url = urlparse(url)
    if warmup:
        run_workers(mode, url, body, min(concurrency, 8), warmup, max_seconds, chunks, Stats(), key)
    stats = Stats()
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    run_workers(mode, url, body, concurrency, requests, max_seconds, chunks, stats, key)
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    done = len(stats.latencies)
    report = {
        "mode": mode, "concurrency": concurrency, "requested": requests, "completed": done,
        "errors": len(stats.errors), "error_samples": stats.errors[:5], "wall_s": round(wall, 3),
        "rps": round(done / wall, 1) if wall else 0, "loadgen_cpu_s": round(cpu, 3),
        "p50_ms": ms(percentile(stats.latencies, 50)), "p90_ms": ms(percentile(stats.latencies, 90)),
        "p99_ms": ms(percentile(stats.latencies, 99)),
    }
    if mode == "stream":
        report.update({
            "chunks_in": chunks * (done + len(stats.errors)), "chunks_out": stats.chunks_out,
            "lost_chunks": chunks * (done + len(stats.errors)) - stats.chunks_out,
            "streams_incomplete": stats.streams_incomplete, "merged_arrivals": stats.merged_arrivals,
            "ttfb_p50_ms": ms(percentile(stats.ttfb, 50)), "ttfb_p99_ms": ms(percentile(stats.ttfb, 99)),
            "ttlb_p50_ms": report["p50_ms"], "ttlb_p99_ms": report["p99_ms"],
            "lag_p50_ms": ms(percentile(stats.lags, 50)), "lag_p99_ms": ms(percentile(stats.lags, 99)),
        })
    return report


def run_workers(mode, url, body, concurrency, requests, max_seconds, chunks, stats, key=None):
    request = build_request(url, body, keep_alive=(mode == "chat"), key=key)
    todo = list(range(requests))
    deadline = time.monotonic() + max_seconds
    pool = Pool(concurrency)
    for _ in range(concurrency):
        if mode == "chat":
            pool.spawn(chat_worker, url, request, stats, todo, deadline)
        else:
            pool.spawn(stream_worker, url, request, stats, todo, deadline, chunks)
    pool.join()


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["chat", "stream"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--body", required=True, help="the JSON request body")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--requests", type=int, default=100, help="calls (or streams) in all")
    parser.add_argument("--max-seconds", type=float, default=60, help="stop starting new calls after this")
    parser.add_argument("--chunks", type=int, default=0, help="stamped chunks each stream should carry")
    parser.add_argument("--warmup", type=int, default=0, help="uncounted calls first")
    parser.add_argument("--key", help="sent as Authorization: Bearer (bench/litellm_compare.py)")
    args = parser.parse_args(argv)
    report = run(args.mode, args.url, args.body.encode(), args.concurrency, args.requests, args.max_seconds,
                 args.chunks, args.warmup, args.key)
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
