"""Starting and operating the gateway as the README says: one log line per request on the
development server, and the CLI from the venv's own `flask` with no activated venv."""
import os
import subprocess
import sys
import time

import pytest
import requests

from .live import ROOT, free_port

BIN = os.path.dirname(sys.executable)


def bare_env(tmp_path, **extra):
    """The environment of a shell where the venv was never activated."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if os.path.abspath(p) != os.path.abspath(BIN))
    env.update(DATABASE_URL=f"sqlite:///{tmp_path}/gateway.db", DATA_DIR=str(tmp_path),
               GATEWAY_API_KEYS="", **extra)
    return env


def test_the_development_server_logs_each_request_once(tmp_path):
    port = free_port()
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "inference_gateway"], cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, env=bare_env(tmp_path, PORT=str(port)))
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(url + "/readyz", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and proc.poll() is None, log.read_text()
                time.sleep(0.1)
        assert requests.get(url + "/api/v1/inference/providers", timeout=5).status_code == 200
        time.sleep(0.3)  # the access line is written once the response is closed
    finally:
        proc.terminate()
        proc.wait(10)
    lines = [line for line in log.read_text().splitlines() if "/api/v1/inference/providers" in line]
    assert len(lines) == 1, log.read_text()
    assert "status=200" in lines[0]


def test_the_venv_flask_prunes_without_an_activated_venv(tmp_path):
    result = subprocess.run([os.path.join(BIN, "flask"), "--app", "wsgi", "usage", "prune", "--days", "30"],
                            cwd=ROOT, env=bare_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "deleted 0" in result.stdout + result.stderr, result.stdout + result.stderr


def test_ctrl_c_on_make_nginx_stops_both_without_a_traceback(tmp_path):
    """Ctrl-C reaches the whole foreground process group, as a terminal sends it."""
    import os
    import pty
    import shutil
    import signal

    from .prism import unavailable

    if not shutil.which("nginx"):
        unavailable("nginx is not installed: apt-get install nginx")
    port, nginx_port = free_port(), free_port()
    pid, fd = pty.fork()
    if pid == 0:  # the child: a session of its own with the pty as its terminal, like a shell's job
        os.chdir(ROOT)
        env = bare_env(tmp_path)
        os.execvpe("make", ["make", "-s", "nginx", f"PORT={port}", f"NGINX_PORT={nginx_port}"], env)
    output = b""
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{nginx_port}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "make nginx did not come up"
            time.sleep(0.2)
        # A keep-alive connection through nginx is open when the interrupt comes, as after any use.
        requests.get(f"http://127.0.0.1:{nginx_port}/api/v1/inference/providers", timeout=5)
        time.sleep(0.5)
        os.killpg(pid, signal.SIGINT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break  # the pty closed: everything on it has exited
            if not chunk:
                break
            output += chunk
        _, status = os.waitpid(pid, 0)
    finally:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.close(fd)
    text = output.decode(errors="replace")
    assert "Traceback" not in text and "SystemExit" not in text, text
    assert "Shutting down: Master" in text, text
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
