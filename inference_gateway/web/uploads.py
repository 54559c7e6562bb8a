"""Reading a multipart upload with one audio `file` part, held in memory only (the native
/transcribe and the OpenAI-compatible /v1/audio/transcriptions share it)."""
from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

from inference_gateway import errors
from inference_gateway.web.audio import MemoryParts, take_bytes
from inference_gateway.web import input_guard
from inference_gateway.web.body import body_too_large

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
    input_guard.check_fields(form.items(multi=True))
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
    if name and not input_guard.clean(name):
        raise errors.BadRequest(f"file: the file name {input_guard.BAD_CHAR_MESSAGE}")
    audio = take_bytes(parts[0])
    if not audio:
        raise errors.BadRequest("file: the uploaded file is empty")
    return audio, name
