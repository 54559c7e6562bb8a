"""gunicorn settings, read from the environment (see README.rst, "Running in production").

The default is gevent workers: a stream waiting on its provider costs a greenlet (kilobytes), not a
thread, so one worker per core holds thousands of open SSE/WebSocket streams."""
import gc
import glob
import multiprocessing
import os
import shutil
import tempfile


def _env(name, default, parse=str):
    value = os.environ.get(name)
    return parse(value) if value not in (None, "") else default


PROMETHEUS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# A metrics directory the master created itself (and so removes on exit).
_owned_dirs = []

bind = _env("BIND", None) or f"{_env('HOST', '127.0.0.1')}:{_env('PORT', '3000')}"
worker_class = _env("WORKER_CLASS", "gevent")
workers = _env("WEB_CONCURRENCY", multiprocessing.cpu_count(), int)
# gevent: open connections per worker. 2 workers x 2000 leaves room for 1,000+ streams plus
# nginx's idle keep-alive connections, which also hold a slot each.
worker_connections = _env("WORKER_CONNECTIONS", 2000, int)
# gthread only: every open stream holds one thread, so the pool must be as large as the number
# of concurrent streams a worker should carry.
threads = _env("THREADS", 1000 if worker_class == "gthread" else 1, int)
# Seconds without a heartbeat before the arbiter kills a worker. Both worker types heartbeat
# independently of requests, so a long stream does not trip it; a stuck event loop does.
timeout = _env("TIMEOUT", 60, int)
# On SIGTERM a worker stops accepting and lets running streams finish for this long.
graceful_timeout = _env("GRACEFUL_TIMEOUT", 90, int)
# Longer than nginx's upstream keepalive_timeout (4 s), so nginx always closes an idle connection
# first and never sends a request on a socket gunicorn is closing. Short, because on SIGTERM a
# worker still waits this long on every idle keep-alive connection before it can exit.
keepalive = _env("KEEPALIVE", 5, int)
forwarded_allow_ips = _env("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# Heartbeat files on tmpfs where there is one: a slow disk must not look like a stuck worker.
worker_tmp_dir = _env("WORKER_TMP_DIR", "/dev/shm" if os.path.isdir("/dev/shm") else None)
# gunicorn 25+ opens a control socket at one fixed path per user, so a second instance on the same
# machine would take over the first one's: only on request, at a path of your choosing.
control_socket_disable = not os.environ.get("CONTROL_SOCKET")
if not control_socket_disable:
    control_socket = os.environ["CONTROL_SOCKET"]

# The app already writes one line per request (with provider and model); gunicorn's own access
# log is off unless ACCESS_LOG names a file or "-" (stderr).
accesslog = _env("ACCESS_LOG", None)
access_log_format = _env(
    "ACCESS_LOG_FORMAT",
    '%(h)s "%(r)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s forwarded_for="%({x-forwarded-for}i)s"')
errorlog = _env("ERROR_LOG", "-")
loglevel = _env("LOG_LEVEL", "info").lower()


def on_starting(server):
    """Give the workers a metrics directory: theirs alone, and empty, so old counts are not summed."""
    path = os.environ.get(PROMETHEUS_ENV)
    if path:
        os.makedirs(path, exist_ok=True)
        for stale in glob.glob(os.path.join(path, "*.db")):
            os.remove(stale)
    else:
        path = tempfile.mkdtemp(prefix="inference-gateway-metrics-")
        os.environ[PROMETHEUS_ENV] = path
        _owned_dirs.append(path)
    server.log.info("prometheus multiprocess dir: %s", path)
    _share_price_data()


def _share_price_data():
    """Load genai-prices' prices once in the master, as the compact table (gateway/fast_prices.py:
    about 2 MiB, built by a subprocess, instead of the package's 25 MiB of objects), so the workers
    share it instead of each building its own on its first priced call; gc.freeze() keeps the
    workers' collector from touching (and so copying) its pages."""
    from inference_gateway.gateway import fast_prices

    fast_prices.table()
    gc.freeze()


def post_fork(server, worker):
    """Under gevent, make psycopg2 wait on the event loop instead of blocking the whole worker."""
    if "gevent" in server.cfg.worker_class_str:
        from psycogreen.gevent import patch_psycopg

        patch_psycopg()


def child_exit(server, worker):
    """Drop a dead worker's live gauges (open streams), or they would count forever."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    while _owned_dirs:
        shutil.rmtree(_owned_dirs.pop(), ignore_errors=True)
