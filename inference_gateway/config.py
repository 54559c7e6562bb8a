"""Settings: defaults, then the environment, then explicit overrides (tests pass these)."""
import fnmatch
import functools
import os

DEFAULT_DATA_DIR = "var"

# name -> (default, parser). Every entry here is documented in the README's configuration table.
SETTINGS = {
    "DATABASE_URL": (None, str),
    "DATABASE_POOL_SIZE": (20, int),
    "SQLITE_SYNCHRONOUS": ("NORMAL", str),
    "SQLITE_SYNC_INTERVAL": (0.1, float),
    "LOG_JOURNAL_INTERVAL": (1.0, float),
    "PROVIDER_CACHE_SECONDS": (1.0, float),
    "DATA_DIR": (DEFAULT_DATA_DIR, str),
    "GATEWAY_API_KEYS": ("", str),
    "GATEWAY_ADMIN_KEYS": ("", str),
    "PROVIDER_KEY_VARS": ("*_API_KEY", str),
    "MAX_HOPS": (3, int),
    "ALLOWED_HOSTS": ("", str),
    "LOG_LEVEL": ("INFO", str),
    "LOG_FORMAT": ("text", str),
    "MAX_REQUEST_BYTES": (40 * 1024 * 1024, int),
    "MAX_AUDIO_BYTES": (25 * 1024 * 1024, int),
    "MAX_JSON_DEPTH": (64, int),
    "MAX_JSON_ITEMS": (10000, int),
    "REQUEST_BODY_TIMEOUT": (60.0, float),
    "UPSTREAM_CONNECT_TIMEOUT": (5.0, float),
    "UPSTREAM_READ_TIMEOUT": (120.0, float),
    "UPSTREAM_MAX_RETRIES": (2, int),
    "UPSTREAM_RETRY_BACKOFF": (0.25, float),
    "UPSTREAM_RETRY_AFTER_MAX": (10.0, float),
    "UPSTREAM_POOL_SIZE": (1000, int),
    "STREAM_IDLE_TIMEOUT": (60.0, float),
    "UPSTREAM_MAX_LINE_BYTES": (16 * 1024 * 1024, int),
    "UPSTREAM_MAX_REPLY_BYTES": (64 * 1024 * 1024, int),
    "STREAM_CHECKPOINT_SECONDS": (10.0, float),
    "STREAM_ABANDONED_AFTER": (600.0, float),
    "MAX_SYNCED_MODELS": (5000, int),
    "READY_WRITE_TIMEOUT": (1.0, float),
    "ANTHROPIC_DEFAULT_MAX_TOKENS": (4096, int),
    "LOG_BODIES": (False, "bool"),
    "LOG_BODY_MAX_BYTES": (16 * 1024, int),
    "USAGE_RETENTION_DAYS": (0, int),
    "METRICS_ENABLED": (True, "bool"),
    "METRICS_TOKEN": ("", str),
    "TRUSTED_PROXIES": (0, int),
    # OpenTelemetry (web/tracing.py): the OTLP/HTTP collector's root URL, set by the operator only
    # (spans carry model names, token counts and request ids, never bodies or keys); empty is off.
    "OTEL_EXPORTER_OTLP_ENDPOINT": ("", str),
    "OTEL_SERVICE_NAME": ("inference-gateway", str),
    "PRICES_FILE": (None, str),
    # Virtual keys' counters; the URL may carry a password: set by the operator only.
    "REDIS_URL": (None, str),
    "LIMITS_FAIL_OPEN": (False, "bool"),
    "LIMITS_REDIS_PREFIX": ("igw", str),
    "LIMITS_LEASE_SECONDS": (900, int),
    "LIMITS_DEFAULT_OUTPUT_TOKENS": (1024, int),
    "KEY_CACHE_SECONDS": (0.5, float),
    # Provider health (gateway/health.py) and routes' circuit breakers (gateway/breaker.py).
    "HEALTH_FLUSH_SECONDS": (2.0, float),
    "HEALTH_DEGRADED_ERROR_RATE": (0.1, float),
    "BREAKER_FAILURES": (5, int),
    "BREAKER_COOLDOWN": (30.0, float),
    "ROUTE_RETRY_AFTER_MAX": (2.0, float),
    # Signs the dashboard's session cookies; set by the operator only. Unset: a random secret kept
    # in DATA_DIR/dashboard-secret (one per machine: instances sharing a database need the same).
    "DASHBOARD_SECRET": (None, str),
    "DASHBOARD_SESSION_HOURS": (12.0, float),
    # The dashboard's latency and error-code panels read this many of a range's newest calls.
    "DASHBOARD_SAMPLE_ROWS": (20000, int),
}

TRUE = {"1", "true", "yes", "on"}

# Variables no provider's envVar may name, whatever PROVIDER_KEY_VARS says: the gateway's own
# settings (SETTINGS above, GATEWAY_*), and the rest of the README's configuration table.
RESERVED_VARS = frozenset(SETTINGS) | {
    "DATABASE_URL", "REDIS_URL", "HOST", "PORT", "BIND", "WORKER_CLASS", "WEB_CONCURRENCY",
    "WORKER_CONNECTIONS", "THREADS", "TIMEOUT", "GRACEFUL_TIMEOUT", "KEEPALIVE", "FORWARDED_ALLOW_IPS",
    "WORKER_TMP_DIR", "ACCESS_LOG", "ERROR_LOG", "CONTROL_SOCKET", "PROMETHEUS_MULTIPROC_DIR",
    "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"}


@functools.lru_cache(maxsize=1024)
def key_var_allowed(name, patterns):
    """May a provider's envVar name this variable? A glob of PROVIDER_KEY_VARS must match the whole
    name, and the gateway's own settings are refused even then."""
    if not name or name in RESERVED_VARS or name.upper().startswith("GATEWAY_"):
        return False
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def _parse(value, parser):
    if parser == "bool":
        return value if isinstance(value, bool) else str(value).strip().lower() in TRUE
    return parser(value)


def split_list(value):
    """A comma-separated setting as a list of its non-empty, stripped items."""
    return [item.strip() for item in value.split(",") if item.strip()]


def load_config(overrides=None, environ=None):
    """Build the settings dict. Overrides win over the environment, which wins over defaults."""
    environ = os.environ if environ is None else environ
    overrides = overrides or {}
    config = {}
    for name, (default, parser) in SETTINGS.items():
        if name in overrides:
            value = overrides[name]
        elif environ.get(name) not in (None, ""):
            value = environ[name]
        else:
            value = default
        config[name] = _parse(value, parser) if value is not None else None
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = "sqlite:///" + os.path.join(config["DATA_DIR"], "inference_gateway.store.db")
    config["API_KEYS"] = split_list(config["GATEWAY_API_KEYS"])
    config["ADMIN_KEYS"] = split_list(config["GATEWAY_ADMIN_KEYS"])
    config["PROVIDER_KEY_PATTERNS"] = tuple(split_list(config["PROVIDER_KEY_VARS"]))
    config["ALLOWED_HOSTS_LIST"] = split_list(config["ALLOWED_HOSTS"])
    # Anything else a test passes (e.g. TESTING) is kept as given.
    for name, value in overrides.items():
        config.setdefault(name, value)
    return config
