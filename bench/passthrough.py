"""The baseline: the smallest Flask + `requests` proxy for one chat call and one stream.

    UPSTREAM_URL=http://127.0.0.1:9100/v1/chat/completions \
        gunicorn -c gunicorn.conf.py --pythonpath bench passthrough:app

No validation, no logging, no translation: what this stack costs before the gateway does anything.
It runs under the gateway's own gunicorn.conf.py, so the two differ only in the application.
"""
import os

import requests
from flask import Flask, Response, request
from requests.adapters import HTTPAdapter

UPSTREAM_URL = os.environ.get("UPSTREAM_URL", "http://127.0.0.1:9100/v1/chat/completions")

# Module level: gunicorn imports the app in each worker after the fork, so no socket is shared.
session = requests.Session()
session.trust_env = False
session.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=2000, max_retries=0))

app = Flask(__name__)


def forward(stream):
    return session.post(UPSTREAM_URL, data=request.get_data(), stream=stream, timeout=(5, 120),
                        headers={"Content-Type": "application/json"})


@app.post("/chat")
def chat():
    upstream = forward(stream=False)
    return Response(upstream.content, upstream.status_code, content_type=upstream.headers.get("Content-Type"))


@app.post("/chat/stream")
def chat_stream():
    upstream = forward(stream=True)

    def body():
        try:
            # chunk_size=None: hand on each piece as it arrives instead of filling a buffer first.
            yield from upstream.iter_content(chunk_size=None)
        finally:
            upstream.close()

    return Response(body(), upstream.status_code, content_type=upstream.headers.get("Content-Type"),
                    headers={"Cache-Control": "no-cache"})
