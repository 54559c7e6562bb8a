"""Prometheus metrics fed by the call events; multiprocess-safe under gunicorn.

With PROMETHEUS_MULTIPROC_DIR set (gunicorn.conf.py sets it), every worker writes its values to
files there and /metrics sums them, so any worker can answer a scrape for the whole instance.
Without it (dev server, tests) the values live in this process only."""
import os
import threading

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from inference_gateway import events
from inference_gateway.gateway.breaker import GAUGE

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
NO_PROVIDER = "none"

# Upstream waits span a cached reply to a multi-minute generation.
UPSTREAM_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
# The gateway's own time should be milliseconds; the top buckets catch a slow database.
OVERHEAD_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)


class Metrics:
    """The gateway's metric families, registered on one registry."""

    def __init__(self, registry):
        self.registry = registry
        self.requests = Counter(
            "gateway_requests", "Proxied calls by endpoint, provider and HTTP status.",
            ["endpoint", "provider", "status"], registry=registry)
        self.upstream = Histogram(
            "gateway_upstream_latency_seconds", "Time a call spent waiting on the upstream provider.",
            ["endpoint", "provider"], buckets=UPSTREAM_BUCKETS, registry=registry)
        self.overhead = Histogram(
            "gateway_overhead_seconds", "A call's total time minus its time waiting on the upstream.",
            ["endpoint"], buckets=OVERHEAD_BUCKETS, registry=registry)
        self.input_tokens = Counter(
            "gateway_input_tokens", "Input (prompt) tokens reported by providers.",
            ["provider"], registry=registry)
        self.output_tokens = Counter(
            "gateway_output_tokens", "Output (completion) tokens reported by providers.",
            ["provider"], registry=registry)
        # 'livesum': the sum over live workers; a dead worker's open streams are dropped with it.
        self.active_streams = Gauge(
            "gateway_active_streams", "Streams (SSE and WebSocket) open right now.",
            ["endpoint"], multiprocess_mode="livesum", registry=registry)

        self.route_attempts = Counter(
            "gateway_route_attempts", "Routed calls' attempts by route, provider and outcome (success, "
            "failure, skipped: the provider's circuit breaker was open).",
            ["route", "provider", "outcome"], registry=registry)
        self.route_fallbacks = Counter(
            "gateway_route_fallbacks", "Routed calls that moved on from a failed target, by route and that "
            "target's provider.", ["route", "provider"], registry=registry)
        # 'max' over workers: without Redis each worker has its own breaker, and one open shows.
        self.breaker_state = Gauge(
            "gateway_breaker_state", "A provider's circuit breaker as this gateway last saw it change: "
            "0 closed, 2 open.", ["provider"], multiprocess_mode="max", registry=registry)

        # Labelled children by (family, labels): `labels()` validates and locks on every call,
        # and a call updates up to five series.
        self._children = {}

    def child(self, family, *labels):
        key = (family, labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = family.labels(*labels)
        return found

    def call_finished(self, record):
        provider = record.provider_name or NO_PROVIDER
        self.child(self.requests, record.endpoint, provider, str(record.http_status or 0)).inc()
        upstream_s = max(0.0, record.upstream_ms) / 1000.0
        if record.provider_name:
            self.child(self.upstream, record.endpoint, provider).observe(upstream_s)
        self.child(self.overhead, record.endpoint).observe(record.overhead_ms / 1000.0)
        if record.input_tokens:
            self.child(self.input_tokens, provider).inc(record.input_tokens)
        if record.output_tokens:
            self.child(self.output_tokens, provider).inc(record.output_tokens)


_lock = threading.Lock()
_metrics = None


def get():
    """The process's metrics, created on first use (metric files must not be opened at import)."""
    global _metrics
    if _metrics is None:
        with _lock:
            if _metrics is None:
                _metrics = Metrics(CollectorRegistry(auto_describe=True))
    return _metrics


def _on_call_finished(record):
    get().call_finished(record)


def _on_route_attempt(route, provider, outcome):
    metrics = get()
    metrics.child(metrics.route_attempts, route, provider, outcome).inc()


def _on_route_fallback(route, provider):
    metrics = get()
    metrics.child(metrics.route_fallbacks, route, provider).inc()


def _on_breaker_changed(provider, state):
    metrics = get()
    metrics.child(metrics.breaker_state, provider).set(GAUGE[state])


def _on_stream_opened(endpoint):
    metrics = get()
    metrics.child(metrics.active_streams, endpoint).inc()


def _on_stream_closed(endpoint):
    metrics = get()
    metrics.child(metrics.active_streams, endpoint).dec()


def multiprocess():
    return bool(os.environ.get(MULTIPROC_ENV))


def exposition():
    """(body, content type) for a scrape: every worker's values in multiprocess mode, and every
    family declared even before its first sample (a fresh instance's first scrape, which the
    multiprocess collector would leave empty: it only reads the values workers have written)."""
    if multiprocess():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = get().registry
    body = generate_latest(registry)
    missing = [lines for name, lines in _declarations() if b"# TYPE " + name + b" " not in body]
    return body + b"".join(missing), CONTENT_TYPE_LATEST


_declared = None


def _declarations():
    """[(name, its '# HELP' and '# TYPE' lines)] of every family, from a registry with no samples."""
    global _declared
    if _declared is None:
        text = generate_latest(Metrics(CollectorRegistry(auto_describe=True)).registry)
        blocks = (b"# HELP " + block for block in text.split(b"# HELP ") if block)
        _declared = [(block.split(b"\n# TYPE ", 1)[1].split(b" ", 1)[0], block) for block in blocks]
    return _declared


def init_app(app):
    """Subscribe to the call events (once per process, however many apps are created)."""
    if not app.config.get("METRICS_ENABLED", True):
        return
    get()
    events.call_finished.connect(_on_call_finished)
    events.stream_opened.connect(_on_stream_opened)
    events.stream_closed.connect(_on_stream_closed)
    events.route_attempt.connect(_on_route_attempt)
    events.route_fallback.connect(_on_route_fallback)
    events.breaker_changed.connect(_on_breaker_changed)
