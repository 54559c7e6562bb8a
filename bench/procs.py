"""The benchmark's servers as subprocesses, and what their process trees cost (CPU, PSS)."""
import os
import socket
import subprocess
import sys
import threading
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One subprocess listening on 127.0.0.1:port, its output in a log file."""

    def __init__(self, name, argv, port, env, log_dir, ready_path="/", cwd=ROOT):
        self.name, self.port, self.ready_path = name, port, ready_path
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = os.path.join(log_dir, f"{name}.log")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(argv, cwd=cwd, env={**os.environ, **env}, stdout=log,
                                         stderr=subprocess.STDOUT)

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            try:
                requests.get(self.url + self.ready_path, timeout=2)
                return self
            except (requests.ConnectionError, requests.Timeout):
                pass  # not listening yet, or too busy starting to answer in time
            if self.proc.poll() is not None or time.monotonic() > deadline:
                with open(self.log_path) as log:
                    raise RuntimeError(f"{self.name} did not start:\n{log.read()[-3000:]}")
            time.sleep(0.1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def tree(self):
        return process_tree(self.proc.pid)


def upstream(port, log_dir, processes=1):
    return Server("upstream", [sys.executable, os.path.join(HERE, "fake_upstream.py"), "--port", str(port),
                               "--processes", str(processes)], port, {}, log_dir)


def gunicorn(name, app, port, env, log_dir, ready_path="/", root=ROOT):
    """gunicorn with the gateway's own gunicorn.conf.py (its defaults unless env overrides them).
    `root`: the checkout to serve from (`python -m` puts it first on the path)."""
    argv = [sys.executable, "-m", "gunicorn", "-c", os.path.join(root, "gunicorn.conf.py"),
            "--pythonpath", HERE, app]
    return Server(name, argv, port, {"BIND": f"127.0.0.1:{port}", **env}, log_dir, ready_path, cwd=root)


def _children():
    """{ppid: [pid, ...]} for every process visible in /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    return children


def process_tree(pid):
    children, tree, todo = _children(), [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def cpu_seconds(pids):
    """User + system CPU of these live processes (a worker that died takes its seconds with it)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / CLK_TCK


def pss_mib(pids):
    """Proportional set size of these processes: shared pages counted once across the tree."""
    total_kb = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        total_kb += int(line.split()[1])
                        break
        except OSError:
            continue
    return total_kb / 1024.0


def store_journal(url, headers=None):
    """Have the gateway at `url` move every request-log journal into its database now (any read of
    the log does: store/journal.py), so that a measured slice pays for storing the rows it wrote
    instead of leaving the move to whatever runs a second later."""
    resp = requests.get(url + "/api/v1/inference/requests/bench-journal-catch-up", timeout=60, headers=headers)
    if resp.status_code != 404:
        raise RuntimeError(f"moving the journal at {url}: HTTP {resp.status_code} {resp.text[:300]}")


class Meter:
    """CPU seconds used by each server's tree over a block, and the peak PSS of each."""

    def __init__(self, servers, interval=0.2):
        self.servers, self.interval = servers, interval
        self.peak = {s.name: 0.0 for s in servers}
        self._stop = threading.Event()

    def __enter__(self):
        self.trees = {s.name: s.tree() for s in self.servers}
        self.cpu0 = {name: cpu_seconds(pids) for name, pids in self.trees.items()}
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while True:
            for name, pids in self.trees.items():
                self.peak[name] = max(self.peak[name], pss_mib(pids))
            if self._stop.wait(self.interval):
                return

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.cpu = {name: cpu_seconds(pids) - self.cpu0[name] for name, pids in self.trees.items()}
