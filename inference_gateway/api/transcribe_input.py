"""Reading a transcription request: base64 audio in JSON, or a multipart upload, held in memory only."""
from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

from inference_gateway import errors
from inference_gateway.api.audio import MemoryParts, decode_base64, take_bytes
from inference_gateway.store.request_log import capture_body
from inference_gateway.api.schemas import transcribe_form_schema, transcribe_schema
from inference_gateway.api.common import body_too_large, json_body

MULTIPART = "multipart/form-data"
FILE = "file"


def read_multipart(limit):
    """(text fields, audio bytes, the upload's filename), reading the body once. File parts go to
    memory (never werkzeug's temporary files), at most `limit` bytes of them."""
    try:
        stream = request.stream
    except RequestEntityTooLarge:
        raise body_too_large() from None
    parser = FormDataParser(stream_factory=MemoryParts(limit), silent=False,
                            max_form_memory_size=request.max_form_memory_size,
                            max_form_parts=request.max_form_parts)
    try:
        _, form, files = parser.parse(stream, request.mimetype, request.content_length,
                                      request.mimetype_params)
    except RequestEntityTooLarge:
        raise errors.PayloadTooLarge(
            f"the form is too large: a text field over {request.max_form_memory_size} bytes, more "
            f"than {request.max_form_parts} parts, or a body over "
            f"{current_app.config['MAX_CONTENT_LENGTH']} bytes; send the audio as the 'file' "
            "part (curl -F file=@recording.mp3)") from None
    except ValueError as exc:
        raise errors.BadRequest(f"the multipart body is malformed: {exc}") from None
    return form_fields(form), upload(form, files)


def form_fields(form):
    for name, values in form.lists():
        if len(values) > 1:
            raise errors.BadRequest(f"{name}: given {len(values)} times; send it once")
    return {name: values[0] for name, values in form.lists() if name != FILE}


def upload(form, files):
    """The one `file` part's (bytes, filename); 400 for a missing, misplaced or empty one."""
    for name in files:
        if name != FILE:
            raise errors.BadRequest(
                f"{name}: unexpected file part; send the audio as the part named 'file'")
    parts = files.getlist(FILE)
    if not parts:
        if FILE in form:
            raise errors.BadRequest(
                "file: sent as a text field; upload it as a file (curl -F file=@recording.mp3)")
        raise errors.BadRequest(
            "file: missing; send the audio as a multipart part named 'file' "
            "(curl -F file=@recording.mp3), or JSON with base64 'audio'")
    if len(parts) > 1:
        raise errors.BadRequest(f"file: {len(parts)} files sent; send one recording per request")
    name = parts[0].filename
    audio = take_bytes(parts[0])
    if not audio:
        raise errors.BadRequest("file: the uploaded file is empty")
    return audio, name


def keep_request(record, fields, audio_note):
    """Note the request for the log with every field but the audio, which is never logged."""
    fields = {**{k: v for k, v in fields.items() if k != "audio"}, "audio": audio_note}
    record.request_body = capture_body(fields, current_app.config)


def from_multipart(record, limit):
    fields, (audio, name) = read_multipart(limit)
    keep_request(record, fields, f"[{len(audio)} bytes uploaded as {name!r}]")
    return transcribe_form_schema.load(fields), audio, name


def from_json(record, limit):
    # No cached copy of the raw body; the base64 text is freed when this returns, leaving the
    # decoded audio as the only copy.
    body = json_body(cache=False)
    text = body.get("audio")
    keep_request(record, body, f"[{len(text)} base64 characters]" if isinstance(text, str) else "[?]")
    data = transcribe_schema.load(body)
    return data, decode_base64(data.pop("audio"), limit), None


def read_request(record, limit):
    """(validated fields, audio bytes, the upload's filename or None) for either body form."""
    if request.mimetype == MULTIPART:
        return from_multipart(record, limit)
    if request.is_json:
        return from_json(record, limit)
    raise errors.BadRequest(
        "send JSON ('Content-Type: application/json') with base64 'audio', or "
        "multipart/form-data with the audio as the 'file' part")
