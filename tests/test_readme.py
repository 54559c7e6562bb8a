"""The README against the code: every error code the gateway can answer is in its errors table,
and the walkthrough's commands run as written against a live gateway (the fake upstream behind it)."""
import os
import pathlib
import re
import subprocess
import sys

from inference_gateway import errors

README = pathlib.Path(__file__).resolve().parent.parent / "README.rst"


def error_codes():
    return {value for name, value in vars(errors).items()
            if name.isupper() and isinstance(value, str) and value == name}


def test_the_errors_table_lists_every_code():
    text = README.read_text()
    listed = set(re.findall(r"^([A-Z][A-Z_]+)\s+\d{3}", text, re.M))
    codes = error_codes()
    assert "CANCELLED" in codes and "BAD_REQUEST" in codes
    assert codes <= listed, f"missing from README.rst's errors table: {sorted(codes - listed)}"


MARKER = ".. walkthrough"


def walkthrough_blocks(text):
    """The literal blocks right after a `.. walkthrough` comment, dedented, in order."""
    lines, blocks = text.splitlines(), []
    for i, line in enumerate(lines):
        if line.strip() != MARKER:
            continue
        j = i + 1
        while not lines[j].rstrip().endswith("::"):
            j += 1
        j += 1
        while not lines[j].strip():
            j += 1
        block = []
        while j < len(lines) and (not lines[j].strip() or lines[j].startswith("    ")):
            block.append(lines[j][4:])
            j += 1
        blocks.append("\n".join(block).strip())
    return blocks


def for_the_test(block, gateway, up):
    """The block against the live gateway and the fake upstream: host and port substituted, and
    each typed provider pointed at the fake (a README reader's providers have their real URLs)."""
    block = block.replace("http://localhost:3000", gateway).replace(
        "ws://localhost:3000", gateway.replace("http://", "ws://"))
    block = block.replace("http://localhost:11434/v1", up.base_url("compat"))
    return re.sub(r'"type": "(openai|anthropic|google|opencode)"',
                  lambda m: f'{m.group(0)}, "baseUrl": "{up.base_url(m.group(1))}"', block)


def test_the_walkthrough_runs_as_written(start_gunicorn, up, tmp_path):
    keys = {"OPENAI_API_KEY": "sk-readme", "ANTHROPIC_API_KEY": "sk-ant-readme",
            "GEMINI_API_KEY": "gemini-readme", "OPENCODE_API_KEY": "oc-readme"}
    server = start_gunicorn(GATEWAY_API_KEYS="", GATEWAY_ADMIN_KEYS="", **keys)
    blocks = walkthrough_blocks(README.read_text())
    text = "\n".join(blocks)
    for needed in ("/providers", "/chat", "/chat/stream", "/chat/ws", "/embed", "/images",
                   '"audio"', "-F file=@", "/usage", "/requests/"):
        assert needed in text, f"the walkthrough has no {needed} example"
    # The README's `.venv/bin/python` is this venv, seen from the directory the commands run in.
    os.symlink(os.path.dirname(os.path.dirname(sys.executable)), tmp_path / ".venv")
    outputs = []
    for index, block in enumerate(blocks):
        script = "set -euo pipefail\n" + for_the_test(block, server.url, up)
        result = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                                timeout=60, env={**os.environ, **keys})
        assert result.returncode == 0, f"block {index + 1} failed:\n{block}\n{result.stdout}\n{result.stderr}"
        out = result.stdout
        assert '"success":false' not in out and "'type': 'error'" not in out, f"block {index + 1}:\n{block}\n{out}"
        assert '"success":true' in out or "message_stop" in out, f"block {index + 1}:\n{block}\n{out}"
        outputs.append(out)
        if os.environ.get("SHOW_WALKTHROUGH"):
            print(f"--- block {index + 1}\n{out}")
    everything = "\n".join(outputs)
    assert everything.count('"type":"message_stop"') == 1 and "'type': 'message_stop'" in everything
    assert {"openai", "anthropic", "google", "opencode", "openai-compatible"} <= set(
        re.findall(r'"type":"([a-z-]+)"', everything))
