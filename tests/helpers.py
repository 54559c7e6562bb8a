"""Small helpers the app-level tests share: reading the request log and an SSE body."""
import json

from inference_gateway.store.db import connection
from inference_gateway.store.tables import RequestLog


def log_rows(app):
    """Every request-log row, oldest first."""
    with app.app_context(), connection():
        return list(RequestLog.select().order_by(RequestLog.created))


def sse_events(resp):
    """The JSON events of a finished (test client) SSE response."""
    text = resp.get_data(as_text=True)
    return [json.loads(block[len("data: "):]) for block in text.split("\n\n") if block.startswith("data: ")]
