"""POST /transcribe end to end (JSON with base64 audio, and multipart) against the fake upstream
server; the audio's filename, size limits, and that it is held in memory once and never logged."""
import base64
import io
import json
import tempfile
import tracemalloc

import pytest

from inference_gateway.providers.multipart import MultipartBody
from inference_gateway.providers.openai import OpenAIProvider

from .fake_upstream import Reply
from . import media_support
from .media_support import (P, UNSUPPORTED_MODELS, UPSTREAM_FAILURES, assert_error, log_rows,
                            one_row, run_curl, script_failure)

# The fixtures these tests share with the other media endpoints' tests.
app_config = media_support.app_config

SEED_JSON = """curl -X POST http://localhost:3000/api/v1/inference/transcribe \\
-H "Content-Type: application/json" \\
-d '{
"model": "whisper-1",
"audio": "<base64-encoded-audio>",
"language": "en"
}'"""
SEED_MULTIPART = """curl -X POST http://localhost:3000/api/v1/inference/transcribe \\
-F "model=whisper-1" \\
-F "file=@recording.mp3\""""
TRANSCRIPT = "hello from the fake upstream"
MIB = 1024 * 1024
LIMIT = 25 * MIB  # MAX_AUDIO_BYTES' default

# The first bytes of each format the gateway recognises, and the extension it must choose.
SAMPLES = {
    "mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00",
    "wav": b"RIFF\x24\x08\x00\x00WAVEfmt ",
    "ogg": b"OggS\x00\x02\x00\x00\x00\x00",
    "flac": b"fLaC\x00\x00\x00\x22",
    "webm": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81",
    "m4a": b"\x00\x00\x00\x20ftypM4A \x00\x00",
}
MP3_FRAME = b"\xff\xfb\x90\x64\x00"  # an MPEG-1 layer III frame header, no ID3 tag


def audio(kind="mp3", size=4000):
    head = SAMPLES[kind]
    return head + bytes(i % 251 for i in range(size - len(head)))


def b64(data):
    return base64.b64encode(data).decode()


def uploaded(up):
    """(filename, bytes, form fields) of the one transcription the upstream received."""
    [sent] = up.of_kind("openai", "/audio/transcriptions") or up.of_kind("compat", "/audio/transcriptions")
    filename, data = sent.form["file"]
    return filename, data, {k: v for k, v in sent.form.items() if k != "file"}


def multipart(client, fields, files=None, **kwargs):
    data = dict(fields)
    for name, (content, filename) in (files or {}).items():
        data[name] = (io.BytesIO(content), filename)
    resp = client.post(P + "/transcribe", data=data, content_type="multipart/form-data", **kwargs)
    return resp.status_code, resp.get_json()


# -- the seed's examples -------------------------------------------------------------------------

def test_seed_json_example_through_curl(app, live_server, up, registered):
    sound = audio("mp3")
    status, body = run_curl(SEED_JSON.replace("<base64-encoded-audio>", b64(sound)), live_server.url)
    assert status == 200 and body["success"] is True, body
    assert body["data"] == {"text": TRANSCRIPT, "model": "whisper-1", "language": "en"}
    filename, data, fields = uploaded(up)
    assert (filename, data) == ("audio.mp3", sound)
    assert fields == {"model": "whisper-1", "response_format": "json", "language": "en"}
    row = one_row(app, "transcribe")
    assert (row.provider_name, row.model) == ("openai", "whisper-1")


def test_seed_multipart_example_through_curl(app, live_server, up, registered, tmp_path):
    sound = audio("mp3")
    (tmp_path / "recording.mp3").write_bytes(sound)
    status, body = run_curl(SEED_MULTIPART, live_server.url, cwd=tmp_path)
    assert status == 200 and body["success"] is True, body
    assert body["data"] == {"text": TRANSCRIPT, "model": "whisper-1"}
    assert uploaded(up)[:2] == ("recording.mp3", sound)
    one_row(app, "transcribe")


# -- both forms, every provider ------------------------------------------------------------------

def test_token_billed_model_reports_usage_and_gets_the_prompt(app, api, up, registered):
    sound = audio("wav", 5000)
    status, body = api.post("/transcribe", json={"model": "gpt-4o-transcribe", "audio": b64(sound),
                                                 "prompt": "Names: Ada Lovelace", "filename": "talk.wav"})
    assert status == 200, body
    # The fake bills 1 + bytes/1000 audio tokens plus the prompt's words, and 5 words out.
    assert body["data"]["usage"] == {"inputTokens": 1 + 5 + 3, "outputTokens": 5}
    assert "language" not in body["data"]
    filename, data, fields = uploaded(up)
    assert (filename, data, fields["prompt"]) == ("talk.wav", sound, "Names: Ada Lovelace")
    row = one_row(app, "transcribe")
    assert (row.input_tokens, row.output_tokens) == (9, 5)


def test_multipart_with_every_field(app, client, up, registered):
    sound = audio("ogg")
    status, body = multipart(client, {"model": "gpt-4o-transcribe", "language": "de", "prompt": "Hallo",
                                      "filename": "memo.ogg"}, {"file": (sound, "blob")})
    assert status == 200, body
    assert body["data"]["language"] == "de"
    filename, data, fields = uploaded(up)
    assert (filename, data) == ("memo.ogg", sound)  # the `filename` field wins over the upload's
    assert (fields["language"], fields["prompt"]) == ("de", "Hallo")
    one_row(app, "transcribe")


def test_openai_compatible_server(app, api, up, registered):
    sound = audio("flac")
    status, body = api.post("/transcribe", json={"model": "local/Systran/faster-whisper-small",
                                                 "audio": b64(sound)})
    assert status == 200, body
    [sent] = up.of_kind("compat")
    assert sent.form["model"] == "Systran/faster-whisper-small" and "Authorization" not in sent.headers
    assert sent.form["file"] == ("audio.flac", sound)
    row = one_row(app, "transcribe")
    assert row.provider_name == "local"


@pytest.mark.parametrize("provider,model", UNSUPPORTED_MODELS + [("google", "gemini-2.5-flash")])
def test_unsupported_providers(app, api, up, registered, provider, model):
    status, body = api.post("/transcribe", json={"model": model, "audio": b64(audio())})
    assert_error(status, body, 400, "UNSUPPORTED", f"'{provider}'", "transcription")
    assert up.requests == []
    one_row(app, "transcribe", "error", "UNSUPPORTED")


# -- the filename the upstream sees ----------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_extension_sniffed_from_json_audio(app, api, up, registered, kind):
    sound = audio(kind)
    status, body = api.post("/transcribe", json={"model": "whisper-1", "audio": b64(sound)})
    assert status == 200, body
    assert uploaded(up)[:2] == (f"audio.{kind}", sound)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_extension_sniffed_for_an_upload_named_without_one(app, client, up, registered, kind):
    status, body = multipart(client, {"model": "whisper-1"}, {"file": (audio(kind), "blob")})
    assert status == 200, body
    assert uploaded(up)[0] == f"blob.{kind}"


@pytest.mark.parametrize("given,sent", [
    ("speech.MP3", "speech.mp3"),             # a known extension, any case
    ("C:\\Users\\me\\talk.wav", "talk.wav"),  # a client's path is dropped
    ("../../etc/voice.m4a", "voice.m4a"),
    ("notes.txt", "notes.mp3"),               # an extension no provider reads: sniffed instead
    ("recording", "recording.mp3"),
])
def test_given_filenames(app, api, up, registered, given, sent):
    status, body = api.post("/transcribe", json={"model": "whisper-1", "audio": b64(MP3_FRAME * 100),
                                                 "filename": given})
    assert status == 200, body
    assert uploaded(up)[0] == sent


def test_unknown_bytes_without_a_filename_are_400_before_any_upstream_call(app, api, up, registered):
    status, body = api.post("/transcribe", json={"model": "whisper-1", "audio": b64(b"\x00" * 100)})
    assert_error(status, body, 400, "BAD_REQUEST", "audio format", "mp3")
    assert up.requests == []
    one_row(app, "transcribe", "error", "BAD_REQUEST")


def test_base64_forms_clients_send(app, api, up, registered):
    sound = audio("webm")
    wrapped = "\n".join(b64(sound)[i:i + 76] for i in range(0, len(b64(sound)), 76))  # `base64` output
    for text in (wrapped, "data:audio/webm;codecs=opus;base64," + b64(sound)):
        status, body = api.post("/transcribe", json={"model": "whisper-1", "audio": text})
        assert status == 200, body
    assert [r.form["file"] for r in up.of_kind("openai")] == [("audio.webm", sound)] * 2


# -- bad input ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("payload,words", [
    ({"model": "whisper-1", "audio": "bm90IGJhc2U2NCE=!!"}, ["not valid base64"]),
    ({"model": "whisper-1", "audio": "abc"}, ["not valid base64"]),
    ({"model": "whisper-1", "audio": "a-_b"}, ["not valid base64", "standard alphabet"]),
    ({"model": "whisper-1", "audio": ""}, ["audio is empty"]),
    ({"model": "whisper-1", "audio": " \n "}, ["audio is empty"]),
    ({"model": "whisper-1"}, ["audio: Missing data"]),
    ({"model": "whisper-1", "audio": 12}, ["audio"]),
    ({"model": "whisper-1", "audio": "SUQz", "language": "english please"}, ["language"]),
    ({"model": "whisper-1", "audio": "SUQz", "temperature": 0}, ["temperature: Unknown field"]),
    ({"audio": "SUQz"}, ["model is required"]),
])
def test_bad_json_input_is_400(app, api, up, registered, payload, words):
    status, body = api.post("/transcribe", json=payload)
    assert_error(status, body, 400, "BAD_REQUEST", *words)
    assert up.requests == []
    one_row(app, "transcribe", "error", "BAD_REQUEST")


@pytest.mark.parametrize("fields,files,words", [
    ({"model": "whisper-1"}, {}, ["file: missing"]),
    ({"model": "whisper-1", "file": "not an upload"}, {}, ["file: sent as a text field"]),
    ({"model": "whisper-1"}, {"audio": (audio(), "a.mp3")}, ["audio: unexpected file part"]),
    ({"model": "whisper-1"}, {"file": (b"", "empty.mp3")}, ["file: the uploaded file is empty"]),
    ({"model": "whisper-1", "temperature": "0"}, {"file": (audio(), "a.mp3")}, ["temperature: Unknown"]),
    ({"model": "whisper-1", "audio": "SUQz"}, {"file": (audio(), "a.mp3")}, ["audio: Unknown"]),
    ({"model": ["whisper-1", "gpt-4o-transcribe"]}, {"file": (audio(), "a.mp3")}, ["model: given 2 times"]),
])
def test_bad_multipart_input_is_400(app, client, up, registered, fields, files, words):
    status, body = multipart(client, fields, files)
    assert_error(status, body, 400, "BAD_REQUEST", *words)
    assert up.requests == []
    one_row(app, "transcribe", "error", "BAD_REQUEST")


def test_two_files_are_400(app, client, up, registered):
    resp = client.post(P + "/transcribe", content_type="multipart/form-data", data={
        "model": "whisper-1", "file": [(io.BytesIO(audio()), "a.mp3"), (io.BytesIO(audio()), "b.mp3")]})
    assert_error(resp.status_code, resp.get_json(), 400, "BAD_REQUEST", "2 files")
    one_row(app, "transcribe", "error", "BAD_REQUEST")


@pytest.mark.parametrize("content_type,data,words", [
    ("multipart/form-data", b"--x\r\n", ["malformed"]),  # no boundary
    ("text/plain", b"hello", ["multipart/form-data", "base64 'audio'"]),
    ("application/json", b"{not json", ["not valid JSON"]),
])
def test_a_body_of_the_wrong_kind_is_400(app, client, up, content_type, data, words):
    resp = client.post(P + "/transcribe", data=data, content_type=content_type)
    assert_error(resp.status_code, resp.get_json(), 400, "BAD_REQUEST", *words)
    one_row(app, "transcribe", "error", "BAD_REQUEST")


# -- size limits ---------------------------------------------------------------------------------------

def test_exactly_the_limit_passes_both_ways(app, api, client, up, registered):
    sound = audio("mp3", LIMIT)
    status, body = api.post("/transcribe", json={"model": "whisper-1", "audio": b64(sound)})
    assert status == 200, body
    status, body = multipart(client, {"model": "whisper-1"}, {"file": (sound, "big.mp3")})
    assert status == 200, body
    assert up.uploads == [("audio.mp3", LIMIT), ("big.mp3", LIMIT)]
    assert [r.status for r in log_rows(app)] == ["success", "success"]


def test_one_byte_over_the_limit_is_413_both_ways(app, api, client, up, registered):
    sound = audio("mp3", LIMIT + 1)
    status, body = api.post("/transcribe", json={"model": "whisper-1", "audio": b64(sound)})
    assert_error(status, body, 413, "PAYLOAD_TOO_LARGE", str(LIMIT), "25 MiB")
    status, body = multipart(client, {"model": "whisper-1"}, {"file": (sound, "big.mp3")})
    assert_error(status, body, 413, "PAYLOAD_TOO_LARGE", str(LIMIT))
    assert up.requests == []
    rows = log_rows(app)
    assert [(r.endpoint, r.http_status, r.error_code) for r in rows] == [
        ("transcribe", 413, "PAYLOAD_TOO_LARGE")] * 2


def test_several_file_parts_count_together(app, client, up, registered):
    resp = client.post(P + "/transcribe", content_type="multipart/form-data", data={
        "model": "whisper-1", "file": [(io.BytesIO(audio("mp3", 13 * MIB)), "a.mp3"),
                                       (io.BytesIO(audio("mp3", 13 * MIB)), "b.mp3")]})
    assert_error(resp.status_code, resp.get_json(), 413, "PAYLOAD_TOO_LARGE")
    one_row(app, "transcribe", "error", "PAYLOAD_TOO_LARGE")


def test_a_body_over_max_request_bytes_is_413_both_ways(app, client, up, registered):
    big = b"A" * (40 * MIB + 1)
    resp = client.post(P + "/transcribe", data=b'{"model":"whisper-1","audio":"' + big + b'"}',
                       content_type="application/json")
    assert_error(resp.status_code, resp.get_json(), 413, "PAYLOAD_TOO_LARGE", str(40 * MIB))
    status, body = multipart(client, {"model": "whisper-1"}, {"file": (big, "big.mp3")})
    assert_error(status, body, 413, "PAYLOAD_TOO_LARGE", str(40 * MIB))
    assert [r.error_code for r in log_rows(app)] == ["PAYLOAD_TOO_LARGE"] * 2


def test_a_big_text_field_is_413_naming_the_file_part(app, client, up, registered):
    status, body = multipart(client, {"model": "whisper-1", "prompt": "x" * 600_000},
                             {"file": (audio(), "a.mp3")})
    assert_error(status, body, 413, "PAYLOAD_TOO_LARGE", "text field", "'file' part")
    one_row(app, "transcribe", "error", "PAYLOAD_TOO_LARGE")


# -- upstream failures --------------------------------------------------------------------------------

@pytest.mark.parametrize("reply,status,code", UPSTREAM_FAILURES)
def test_upstream_failures_are_mapped(app, api, up, registered, reply, status, code):
    script_failure(up, "openai", reply)
    got, body = api.post("/transcribe", json={"model": "whisper-1", "audio": b64(audio())})
    assert_error(got, body, status, code, "'openai'")
    row = one_row(app, "transcribe", "error", code)
    assert row.http_status == status


def test_a_retry_sends_the_whole_file_again(app, client, up, registered):
    sound = audio("mp3", 3 * MIB)
    up.script("openai", Reply(503, json={"error": {"message": "overloaded"}}))
    status, body = multipart(client, {"model": "whisper-1"}, {"file": (sound, "speech.mp3")})
    assert status == 200, body
    assert [r.form["file"] for r in up.of_kind("openai")] == [("speech.mp3", sound)] * 2
    one_row(app, "transcribe")


def test_the_providers_own_size_refusal_is_passed_on(app, api, up, registered):
    up.max_upload = 1000
    status, body = api.post("/transcribe", json={"model": "whisper-1", "audio": b64(audio())})
    assert_error(status, body, 400, "UPSTREAM_ERROR", "Maximum content size limit")
    one_row(app, "transcribe", "error", "UPSTREAM_ERROR")


# -- memory, disk and logs ---------------------------------------------------------------------------

@pytest.fixture
def log_bodies(app_config):
    app_config["LOG_BODIES"] = True
    app_config["LOG_BODY_MAX_BYTES"] = 10 * MIB


def test_the_audio_is_never_logged(log_bodies, app, api, client, up, registered):
    sound = audio("mp3", 50_000)
    api.post("/transcribe", json={"model": "whisper-1", "audio": b64(sound), "language": "en"})
    multipart(client, {"model": "whisper-1"}, {"file": (sound, "speech.mp3")})
    json_row, form_row = log_rows(app)
    assert json.loads(json_row.request_body) == {
        "model": "whisper-1", "language": "en", "audio": f"[{len(b64(sound))} base64 characters]"}
    assert json.loads(form_row.request_body) == {
        "model": "whisper-1", "audio": "[50000 bytes uploaded as 'speech.mp3']"}
    assert json.loads(json_row.response_body) == {"text": TRANSCRIPT, "model": "whisper-1",
                                                  "language": "en"}


def test_uploads_never_touch_the_disk(app, client, up, registered, monkeypatch):
    def no_disk(*args, **kwargs):
        raise AssertionError("the upload was spooled to a temporary file")

    import werkzeug.formparser
    for module in (werkzeug.formparser, tempfile):
        for name in ("SpooledTemporaryFile", "TemporaryFile", "NamedTemporaryFile"):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, no_disk)
    sound = audio("mp3", 2 * MIB)  # werkzeug's default spools anything over 500 KB
    status, body = multipart(client, {"model": "whisper-1"}, {"file": (sound, "speech.mp3")})
    assert status == 200, body
    assert up.uploads == [("speech.mp3", 2 * MIB)]


@pytest.mark.parametrize("form", ["json", "multipart"])
def test_one_copy_of_the_audio_is_held_during_the_upstream_call(
        app, live_server, up, registered, tmp_path, monkeypatch, form):
    """Traced memory when the adapter starts the upstream call, over the request's start: one
    copy is the audio's size; the raw body, the base64 text, or a spooled copy would each add
    another 1-1.4x. The client is curl in its own process, so its buffers do not count."""
    size = 12 * MIB
    sound = audio("mp3", size)
    if form == "json":
        (tmp_path / "body.json").write_text(json.dumps({"model": "whisper-1", "audio": b64(sound)}))
        command = (f"curl -X POST {live_server.url}{P}/transcribe -H 'Content-Type: application/json' "
                   "--data-binary @body.json")
    else:
        (tmp_path / "speech.mp3").write_bytes(sound)
        command = f"curl -X POST {live_server.url}{P}/transcribe -F model=whisper-1 -F file=@speech.mp3"
    del sound
    held = []
    original = OpenAIProvider.request_json

    def measured(self, method, path, **kwargs):
        held.append(tracemalloc.get_traced_memory()[0])
        return original(self, method, path, **kwargs)

    monkeypatch.setattr(OpenAIProvider, "request_json", measured)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        status, body = run_curl(command, "", cwd=tmp_path)
    finally:
        tracemalloc.stop()
    assert status == 200, body
    grown = held[0] - before
    assert size <= grown < 1.25 * size, f"{grown / size:.2f}x the audio held at the upstream call"


def test_the_upstream_body_is_sent_from_the_callers_buffer():
    sound = bytes(1000)
    body = MultipartBody({"model": "whisper-1"}, {"file": ("a.mp3", sound, "audio/mpeg")})
    views = [part for part in body if part.obj is sound]
    assert len(views) == 1 and views[0].nbytes == len(sound)  # a view, not a copy
    assert len(body) == len(b"".join(body)) and list(body) == list(body)  # sized, re-iterable
