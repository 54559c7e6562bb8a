"""A real nginx (deploy/nginx.conf) in front of a real gunicorn, on loopback."""
import importlib.util
import json
import os
import resource
import shutil
import socket
import subprocess
import threading
import time
from types import SimpleNamespace

import pytest
import requests

from .helpers import free_port, streamed_events
from .live import CHAT, P, ROOT, register_openai, text_of, ws_chat


pytestmark = pytest.mark.skipif(shutil.which("nginx") is None,
                                reason="nginx is not installed (CI installs it: apt-get install nginx)")

AUDIO_BYTES = 20 * 1024 * 1024


def load_deploy_script():
    spec = importlib.util.spec_from_file_location("deploy_nginx", os.path.join(ROOT, "deploy", "nginx.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def proxy(tmp_path, start_gunicorn, up):
    """nginx on a free loopback port in front of one gunicorn; yields nginx's base URL."""
    server = start_gunicorn(TRUSTED_PROXIES="1")
    register_openai(server.url, up)
    port = free_port()
    command = load_deploy_script().prepare(tmp_path / "nginx", f"127.0.0.1:{port}", [f"127.0.0.1:{server.port}"])
    log = open(tmp_path / "nginx.out", "wb")
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while True:
        if proc.poll() is not None:
            raise AssertionError("nginx exited: " + (tmp_path / "nginx.out").read_text()
                                 + (tmp_path / "nginx" / "error.log").read_text())
        try:
            if requests.get(url + "/healthz", timeout=2).ok:
                break
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, "nginx did not start"
        time.sleep(0.1)
    yield SimpleNamespace(url=url, gunicorn=server, nginx_dir=tmp_path / "nginx")
    proc.terminate()
    proc.wait(10)
    log.close()


def test_sse_chunks_arrive_one_by_one_at_the_upstream_pace(proxy, up):
    up.stream_chunks = ["one ", "two ", "three ", "four ", "five"]
    up.stream_delay = 0.2
    with requests.post(proxy.url + P + "/chat/stream", json=CHAT, stream=True, timeout=30) as resp:
        assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
        arrivals = [(at, e) for at, e in streamed_events(resp)]
    deltas = [at for at, e in arrivals if e["type"] == "content_block_delta"]
    assert len(deltas) == 5 and arrivals[-1][1]["type"] == "message_stop"
    assert text_of([e for _, e in arrivals]) == "one two three four five"
    gaps = [b - a for a, b in zip(deltas, deltas[1:])]
    # Buffered, they would all land together at the end; unbuffered, each follows the upstream.
    assert all(gap > 0.1 for gap in gaps), gaps


def test_websocket_chat_through_nginx(proxy, up):
    events = ws_chat(proxy.url.replace("http://", "ws://"))
    assert [events[0]["type"], events[-1]["type"]] == ["message_start", "message_stop"]
    assert text_of(events) == "".join(up.stream_chunks)


def test_a_20_mb_multipart_transcription_is_transcribed(proxy, up):
    sound = b"ID3" + os.urandom(AUDIO_BYTES - 3)
    resp = requests.post(proxy.url + P + "/transcribe", data={"model": "whisper-1"},
                         files={"file": ("speech", sound, "application/octet-stream")}, timeout=60)
    assert resp.status_code == 200, resp.text[:300]
    assert resp.json()["data"]["text"]
    # The whole file reached the provider, named for its sniffed format.
    [sent] = up.of_kind("openai", "/audio/transcriptions")
    assert sent.form["file"] == ("speech.mp3", sound)
    usage = requests.get(proxy.url + P + "/usage?endpoint=transcribe", timeout=10).json()["data"]
    assert [(r["status"], r["model"]) for r in usage["requests"]] == [("success", "whisper-1")]
    # nginx streamed the upload through: no copy of the audio went to its temporary files on disk.
    assert "buffered to a temporary file" not in (proxy.nginx_dir / "error.log").read_text()


def test_request_ids_are_shared_by_nginx_and_the_gateway(proxy):
    resp = requests.get(proxy.url + P + "/providers", headers={"X-Request-Id": "via-nginx-1"}, timeout=5)
    assert resp.headers["X-Request-Id"] == "via-nginx-1"
    # Without one, nginx makes one and the gateway keeps it: both logs carry the same id.
    made = requests.get(proxy.url + P + "/providers", timeout=5).headers["X-Request-Id"]
    assert len(made) == 32
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        access = (proxy.nginx_dir / "access.log").read_text()
        if f"request_id={made}" in access and f"request_id={made}" in proxy.gunicorn.output():
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"request id {made} not in both logs")


def test_rendered_config_is_valid_for_nginx(tmp_path):
    rendered = load_deploy_script().render("8080", ["10.0.0.1:3000", "10.0.0.2:3000"])
    assert "server 10.0.0.1:3000;" in rendered and "server 10.0.0.2:3000;" in rendered
    assert "${" not in rendered and "$http_upgrade" in rendered
    (tmp_path / "gateway.conf").write_text(rendered)
    (tmp_path / "nginx.conf").write_text(
        "pid nginx.pid; events {} http { client_body_temp_path tmp; include gateway.conf; }\n")
    check = subprocess.run(["nginx", "-t", "-p", str(tmp_path) + "/", "-c", "nginx.conf", "-e", "error.log"],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


SLOW_CLIENTS = 4000
PER_CLIENT = 512  # deploy/nginx.conf's limit_conn


def test_4000_slow_bodies_neither_reach_a_worker_nor_delay_healthz(proxy, up):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < SLOW_CLIENTS + 500:
        pytest.skip(f"the descriptor limit ({hard}) is below {SLOW_CLIENTS + 500}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 16384) if hard != resource.RLIM_INFINITY else 16384, hard))
    host, port = proxy.url[len("http://"):].split(":")
    head = (f"POST {P}/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: 100000\r\n\r\n{").encode()
    slow = []
    try:
        for _ in range(SLOW_CLIENTS):  # each declares 100 kB and sends one byte of it
            sock = socket.create_connection((host, int(port)), timeout=5)
            sock.sendall(head)
            slow.append(sock)
        stop = threading.Event()

        def trickle():  # one more byte on every connection each second
            while not stop.wait(1.0):
                for sock in slow:
                    try:
                        sock.send(b" ")
                    except OSError:
                        pass
        threading.Thread(target=trickle, daemon=True).start()
        try:
            for _ in range(5):
                started = time.monotonic()
                assert requests.get(proxy.url + "/healthz", timeout=1).status_code == 200
                assert time.monotonic() - started < 1.0
                time.sleep(0.5)
            # Another client is served meanwhile (limit_conn counts per address: 127.0.0.2 here).
            other = socket.create_connection((host, int(port)), timeout=10, source_address=("127.0.0.2", 0))
            body = json.dumps(CHAT).encode()
            other.sendall(f"POST {P}/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                          f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
            reply = b""
            while chunk := other.recv(65536):
                reply += chunk
            other.close()
            assert reply.startswith(b"HTTP/1.1 200"), reply[:300]
        finally:
            stop.set()
        # Past the per-address limit the slow connections were refused at once with a 429.
        refused = 0
        for sock in slow:
            sock.setblocking(False)  # a socket with a timeout would wait for data that never comes
            try:
                refused += sock.recv(64).startswith(b"HTTP/1.1 429")
            except (BlockingIOError, OSError):
                pass
        assert SLOW_CLIENTS - PER_CLIENT - 50 <= refused <= SLOW_CLIENTS - PER_CLIENT, refused
    finally:
        for sock in slow:
            sock.close()
    # None of them reached the gateway: its log has the probes and the one chat only.
    assert len(up.of_kind("openai", "/chat/completions")) == 1
