"""OpenAI's routes on /v1: thin views over the gateway's call frame (gateway/calls.py) and chat
orchestration (gateway/chat.py); the wire format is chat.py's and media.py's."""
import time
from contextlib import contextmanager

from flask import Blueprint, current_app, request

from inference_gateway import errors
from inference_gateway.compat import common
from inference_gateway.compat.openai import chat, media, response_events, responses
from inference_gateway.compat.openai.errors import render
from inference_gateway.web.calls import keep_response, logged_call, open_adapter
from inference_gateway.store.request_log import capture_body
from inference_gateway.types import TranscribeRequest
from inference_gateway.web.audio import filename_for
from inference_gateway.web.body import json_body
from inference_gateway.web.uploads import read_multipart

bp = Blueprint("openai_compat", __name__)
common.install(bp, render)


@bp.post("/chat/completions")
def chat_completions():
    created = int(time.time())
    return common.chat_call(
        json_body(), "openai_chat", chat.parse,
        lambda record, call, completion, calls: chat.completion_body(
            record.id, created, call.model, completion, record.usage_dict(), calls),
        lambda record, call, stream: chat.stream_frames(
            stream, record.id, created, call.model, call.include_usage))


@bp.post("/responses")
def create_response():
    created = int(time.time())
    return common.chat_call(
        json_body(), "openai_responses", responses.parse,
        lambda record, call, completion, calls: responses.response_body(
            f"resp_{record.id}", created, call.model, call, "completed",
            responses.output_items(record.id, completion, calls), record.usage_dict(),
            completion.finish_reason),
        lambda record, call, stream: response_events.ResponseEvents(
            record.id, created, call.model, call).frames(stream))


@contextmanager
def media_call(endpoint, parse):
    """The call frame of a JSON media call: (record, parsed body, model, adapter)."""
    body = json_body()
    with logged_call(endpoint, body) as record:
        parsed = parse(body)
        _, model, adapter = open_adapter(record, parsed["model"], None)
        yield record, parsed, model, adapter


@bp.post("/embeddings")
def embeddings():
    with media_call("openai_embeddings", media.parse_embeddings) as (record, parsed, model, adapter):
        result = adapter.embed(media.embed_request(parsed, model))
        record.set_usage(result.usage)
        keep_response(record, {"model": parsed["model"], "count": len(result.vectors)})
        return common.json_reply(media.embeddings_body(
            result, parsed["model"], parsed.get("encoding_format", "float"), record.input_tokens))


@bp.post("/images/generations")
def images_generations():
    with media_call("openai_images", media.parse_images) as (record, parsed, model, adapter):
        result = adapter.images(media.image_request(parsed, model))
        record.set_usage(result.usage)
        # The log keeps how many images, not their bytes (they would fill LOG_BODY_MAX_BYTES).
        keep_response(record, {"model": parsed["model"], "images": len(result.images)})
        return common.json_reply(media.images_body(result, int(time.time()),
                                                   parsed.get("response_format")))


@bp.post("/audio/transcriptions")
def audio_transcriptions():
    if request.mimetype != "multipart/form-data":
        raise errors.BadRequest("send multipart/form-data with the audio as the 'file' part")
    with logged_call("openai_transcriptions") as record:
        form, (audio, name) = read_multipart(current_app.config["MAX_AUDIO_BYTES"])
        record.request_body = capture_body(
            {**form, "file": f"[{len(audio)} bytes uploaded as {name!r}]"}, current_app.config)
        parsed = media.parse_transcription(form)
        _, model, adapter = open_adapter(record, parsed["model"], None)
        result = adapter.transcribe(TranscribeRequest(
            model=model, audio=audio, filename=filename_for(audio, name),
            language=parsed.get("language"), prompt=parsed.get("prompt")))
        record.set_usage(result.usage)
        keep_response(record, {"text": result.text})
        if parsed.get("response_format") == "text":
            return current_app.response_class(result.text + "\n", mimetype="text/plain")
        return common.json_reply(media.transcription_body(result, record.usage_dict()))
