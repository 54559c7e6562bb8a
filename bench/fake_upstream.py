"""A fast fake LLM upstream for benchmarks: OpenAI and Anthropic chat, JSON and SSE, on gevent.

    python bench/fake_upstream.py --port 9100 [--processes 1]

The behaviour of each call is read from its model name, so it survives any proxy in front:
`l<ms>.n<chunks>.i<ms>` (e.g. `l50.n20.i10`: 50 ms before the reply or the first chunk, then 20
chunks 10 ms apart). Missing parts default to l0, n10, i0.

Every streamed chunk's text is `<index>/<count>@<unix time it was sent>;`, so a client behind any
proxy can count lost chunks and compute each chunk's forwarding lag from the text alone.
"""
import argparse
import json
import os
import re
import signal
import socket
import sys
import time

MODEL_SPEC = re.compile(r"([lni])(\d+(?:\.\d+)?)")
DEFAULTS = {"l": 0.0, "n": 10, "i": 0.0}
# Sized like a short real answer: the gateway's JSON work should be measured on a realistic body.
REPLY = "The quick brown fox jumps over the lazy dog. " * 6
STAMP = re.compile(r"(\d+)/(\d+)@(\d+\.\d+);")


def parse_spec(model):
    """(latency s, chunk count, interval s) from a model name like `name/l50.n20.i10`."""
    spec = dict(DEFAULTS)
    for key, value in MODEL_SPEC.findall(model.rpartition("/")[2]):
        spec[key] = float(value)
    return spec["l"] / 1000.0, int(spec["n"]), spec["i"] / 1000.0


def stamp(index, count):
    return f"{index}/{count}@{time.time():.6f};"


def read_stamps(text):
    """[(index, count, sent_at)] for every stamp in a piece of streamed text."""
    return [(int(i), int(n), float(t)) for i, n, t in STAMP.findall(text)]


def sse(payload, event=None):
    head = f"event: {event}\n" if event else ""
    return (head + "data: " + json.dumps(payload, separators=(",", ":")) + "\n\n").encode()


def openai_reply(model):
    return {"id": "chatcmpl-bench", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 60, "total_tokens": 72}}


def openai_stream(model, count, interval):
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": model}
    for index in range(count):
        if index:
            sleep(interval)
        yield sse({**base, "choices": [{"index": 0, "delta": {"content": stamp(index, count)},
                                        "finish_reason": None}]})
    yield sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    yield sse({**base, "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": count,
                                                "total_tokens": 12 + count}})
    yield b"data: [DONE]\n\n"


def anthropic_reply(model):
    return {"id": "msg_bench", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": REPLY}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 12, "output_tokens": 60}}


def anthropic_stream(model, count, interval):
    yield sse({"type": "message_start", "message": {"id": "msg_bench", "type": "message", "role": "assistant",
                                                    "model": model, "content": [],
                                                    "usage": {"input_tokens": 12, "output_tokens": 0}}},
              "message_start")
    yield sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
              "content_block_start")
    for index in range(count):
        if index:
            sleep(interval)
        yield sse({"type": "content_block_delta", "index": 0,
                   "delta": {"type": "text_delta", "text": stamp(index, count)}}, "content_block_delta")
    yield sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
    yield sse({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
               "usage": {"output_tokens": count}}, "message_delta")
    yield sse({"type": "message_stop"}, "message_stop")


ROUTES = {"/v1/chat/completions": (openai_reply, openai_stream),
          "/v1/messages": (anthropic_reply, anthropic_stream)}


def sleep(seconds):
    # Bound late: gevent's sleep once the server runs, so a sleeping stream costs a greenlet only.
    if seconds > 0:
        import gevent

        gevent.sleep(seconds)


def respond(start_response, status, body):
    data = json.dumps(body, separators=(",", ":")).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def app(environ, start_response):
    route = ROUTES.get(environ["PATH_INFO"])
    if route is None or environ["REQUEST_METHOD"] != "POST":
        return respond(start_response, "404 Not Found", {"error": {"message": "no such route"}})
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length))
        model = str(body["model"])
    except (ValueError, KeyError, TypeError):
        return respond(start_response, "400 Bad Request", {"error": {"message": "send JSON with a model"}})
    latency, count, interval = parse_spec(model)
    sleep(latency)
    reply, stream = route
    if not body.get("stream"):
        return respond(start_response, "200 OK", reply(model))
    start_response("200 OK", [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])
    return stream(model, count, interval)


def serve(port, processes):
    """Bind once, then fork `processes` gevent servers sharing the socket (each on its own core)."""
    from gevent import monkey

    monkey.patch_all()
    from gevent.pywsgi import WSGIServer
    from gevent.server import _tcp_listener

    listener = _tcp_listener(("127.0.0.1", port), backlog=4096, reuse_addr=True)
    children = []
    for _ in range(processes - 1):
        pid = os.fork()
        if pid == 0:
            children = []
            break
        children.append(pid)

    def stop(*_):
        for pid in children:
            os.kill(pid, signal.SIGTERM)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    class Server(WSGIServer):
        def handle(self, sock, address):
            # pywsgi sends the head and the body in two writes: with Nagle on, the body waits
            # for the client's delayed ACK (40 ms).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().handle(sock, address)

    # log=None: an access line per request would cost more than the request.
    Server(listener, app, log=None).serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()
    serve(args.port, args.processes)


if __name__ == "__main__":
    main()
