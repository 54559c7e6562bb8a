"""Request ids, the overhead header, one log line per request, and the metrics wiring."""
import logging
import os
import re
import time

from flask import g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from inference_gateway.web import metrics

log = logging.getLogger("inference_gateway.access")

REQUEST_ID_HEADER = "X-Request-Id"
OVERHEAD_HEADER = "X-Gateway-Overhead-Ms"
# An incoming id is echoed only if it is safe to put in logs and headers unchanged.
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def request_id_from(headers):
    """The caller's X-Request-Id when it is 1-128 characters of [A-Za-z0-9._-], else a new one."""
    incoming = headers.get(REQUEST_ID_HEADER, "")
    return incoming if VALID_REQUEST_ID.fullmatch(incoming) else os.urandom(16).hex()


def overhead_ms(total_ms, record):
    """The call's own figure once its row is written (the one the log line and /metrics show: its
    wall time minus its upstream wait); for a request without a call, its total time."""
    if record is not None and record.overhead_ms is not None:
        return record.overhead_ms
    return max(0.0, total_ms - (record.upstream_ms if record is not None else 0.0))


def request_fields(request_id, status, duration_ms, record):
    """The fields of one request's log line: no headers, no query string, no body."""
    fields = {"request_id": request_id, "method": request.method, "path": request.path,
              "status": status, "duration_ms": round(duration_ms, 1),
              "client": request.remote_addr}
    if record is not None:
        fields.update(provider=record.provider_name, model=record.model, call_id=record.id,
                      call_status=record.status, upstream_ms=round(record.upstream_ms, 1),
                      overhead_ms=_rounded(record.overhead_ms),
                      input_tokens=record.input_tokens, output_tokens=record.output_tokens)
    return fields


def _rounded(ms):
    return None if ms is None else round(ms, 1)


def log_request(fields):
    if not log.isEnabledFor(logging.INFO):
        return
    # Text logs get key=value pairs; the JSON formatter puts `fields` at the top level.
    message = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
    log.info(message, extra={"fields": fields})


def _start():
    g.request_started = time.perf_counter()
    g.request_id = request_id_from(request.headers)


def _finish(response):
    started = g.get("request_started") or time.perf_counter()
    request_id = g.get("request_id") or request_id_from(request.headers)
    record = g.get("call_record")
    response.headers[REQUEST_ID_HEADER] = request_id
    if record is not None and record.provider_name is not None:
        # Who served the call (a route's target after any fallback), and in how many attempts.
        headers = response.headers
        headers["X-Gateway-Provider"] = record.provider_name
        headers["X-Gateway-Model"] = record.model or ""
        headers["X-Gateway-Attempts"] = str(record.attempts or 1)
    if not response.is_streamed:
        response.headers[OVERHEAD_HEADER] = f"{overhead_ms((time.perf_counter() - started) * 1000, record):.1f}"
    status = response.status_code
    fields = request_fields(request_id, status, 0.0, record)

    def done():
        # After the body is sent: a stream's line covers the whole stream and its final outcome.
        fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
        if record is not None:
            fields.update(call_status=record.status, upstream_ms=round(record.upstream_ms, 1),
                          overhead_ms=_rounded(record.overhead_ms),
                          input_tokens=record.input_tokens, output_tokens=record.output_tokens)
        log_request(fields)

    response.call_on_close(done)
    return response


def init_app(app):
    """Install the request hooks (first in line, so timing covers the database hook too)."""
    if app.config.get("TRUSTED_PROXIES"):
        # The real client address and scheme come from the proxy's X-Forwarded-* headers.
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)
    metrics.init_app(app)
