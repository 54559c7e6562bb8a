"""Reading a transcription request: base64 audio in JSON, or a multipart upload, held in memory only."""
from flask import current_app, request

from inference_gateway import errors
from inference_gateway.web.audio import decode_base64
from inference_gateway.web.uploads import read_multipart
from inference_gateway.store.request_log import capture_body
from inference_gateway.api.schemas import transcribe_form_schema, transcribe_schema
from inference_gateway.web.body import json_body

MULTIPART = "multipart/form-data"


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
