"""Stoplight Prism as a validating mock upstream: `prism mock` serving a provider's OpenAPI spec.

Prism answers a request its spec accepts with a schema-valid reply and one it rejects with 422 and
a `validation` list, so an adapter whose wire request drifts from the provider's spec fails loudly.
It cannot stream; the SSE paths are covered by tests/fake_upstream."""
import os
import pathlib
import shutil
import subprocess
import tempfile
import time

import pytest
import requests

from .helpers import free_port

ROOT = pathlib.Path(__file__).resolve().parent.parent
# The providers' specs as fixed for Prism (tests/fixtures/specs/README.md says how), in the repository
# so that a fresh clone runs these tests.
SPECS = ROOT / "tests" / "fixtures" / "specs"
OPENAI_SPEC = SPECS / "openai-v1-subset.openapi.json"
ANTHROPIC_SPEC = SPECS / "anthropic-messages-2024-11.openapi.json"
LOCAL_BINARY = ROOT / "node_modules" / ".bin" / "prism"


def in_ci():
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def unavailable(reason):
    """Skip on a developer machine without node; in CI a skipped fidelity test would hide a gap."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


def binary():
    if LOCAL_BINARY.exists():
        return str(LOCAL_BINARY)
    return shutil.which("prism")


class Prism:
    """One `prism mock` subprocess on a free local port."""

    def __init__(self, spec, executable, host="127.0.0.1"):
        self.spec = pathlib.Path(spec)
        self.executable = executable
        self.host = host
        self.port = None
        self.proc = None
        self._log = None

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self):
        # Both specs' paths carry the /v1 prefix, as the providers' real base URLs do.
        return self.url + "/v1"

    def start(self, timeout=30.0):
        # Prism's own log (one block per request, with the validator's verdict) explains failures.
        fd, self._log = tempfile.mkstemp(prefix="prism-", suffix=".log")
        self.port = free_port()
        with os.fdopen(fd, "ab") as log:
            self.proc = subprocess.Popen(
                [self.executable, "mock", "-h", self.host, "-p", str(self.port), str(self.spec)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "SCARF_ANALYTICS": "false"})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._give_up(f"prism exited with {self.proc.returncode}")
            try:
                # Any HTTP answer (404 for an unknown path) means the mock is up.
                requests.get(self.url + "/", timeout=1)
                return self
            except requests.exceptions.ConnectionError:
                time.sleep(0.1)
        self._give_up(f"prism did not answer within {timeout:.0f} s")

    def _give_up(self, why):
        log = self.log_tail()
        self.stop()
        raise RuntimeError(f"{why} serving {self.spec}:\n{log}")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._log is not None:
            os.unlink(self._log)
            self._log = None

    def log_tail(self, lines=40):
        """The last lines of Prism's log, for assertion messages."""
        if self._log is None:
            return ""
        text = pathlib.Path(self._log).read_text("utf-8", "replace")
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def serve(spec):
    """A started Prism for `spec`, or a skip (a failure in CI) naming what is missing."""
    executable = binary()
    if not executable:
        unavailable("Stoplight Prism is not installed: run `npm ci` in the repository root "
                    "(needs node; `make test` does it when npm is present)")
    if not pathlib.Path(spec).is_file():
        unavailable(f"provider spec {spec} is missing (tests/fixtures/specs)")
    return Prism(spec, executable).start()
