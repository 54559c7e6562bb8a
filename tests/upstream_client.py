"""Talking to the fake upstream server with plain `requests`, as its self-tests do."""
import time

import requests

OPENAI = {"Authorization": "Bearer sk-test"}
ANTHROPIC = {"x-api-key": "sk-ant", "anthropic-version": "2023-06-01"}
GOOGLE = {"x-goog-api-key": "g-key"}
ASK = [{"role": "user", "content": "What is the capital of France?"}]  # 6 words -> 11 input tokens
PARIS = "The capital of France is Paris."


def post(up, kind, path, headers=None, **kw):
    return requests.post(up.base_url(kind) + path, headers=headers, timeout=5, **kw)


def sse_events(resp):
    """[(event name or None, data text, arrival time)] as they arrive."""
    events, name = [], None
    for line in resp.iter_lines(chunk_size=None):
        if line.startswith(b"event: "):
            name = line[len(b"event: "):].decode()
        elif line.startswith(b"data: "):
            events.append((name, line[len(b"data: "):].decode(), time.monotonic()))
            name = None
    return events
