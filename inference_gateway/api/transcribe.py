"""Transcription: base64 audio in JSON, or a multipart upload; the audio stays in memory only."""
from flask import Blueprint, current_app

from inference_gateway.web.audio import filename_for
from inference_gateway.web.envelope import ok
from inference_gateway.web.openapi import UPSTREAM_ERRORS, describe
from inference_gateway.api.replies import TranscribeReply
from inference_gateway.api.schemas import TranscribeFormSchema, TranscribeSchema
from inference_gateway.types import TranscribeRequest
from inference_gateway.api.calls import keep_response, logged_call, open_adapter
from inference_gateway.api.transcribe_input import read_request

bp = Blueprint("transcribe", __name__)


@bp.post("/transcribe")
@describe("Transcription of base64 audio (JSON) or an uploaded file (multipart)", body=TranscribeSchema,
          form=TranscribeFormSchema, reply=TranscribeReply, errors=UPSTREAM_ERRORS)
def transcribe():
    limit = current_app.config["MAX_AUDIO_BYTES"]
    with logged_call("transcribe") as record:
        data, audio, uploaded_name = read_request(record, limit)
        filename = filename_for(audio, data.get("filename") or uploaded_name)
        _, model, adapter = open_adapter(record, data.get("model"), data.get("provider_id"))
        result = adapter.transcribe(TranscribeRequest(
            model=model, audio=audio, filename=filename, language=data.get("language"),
            prompt=data.get("prompt")))
        record.set_usage(result.usage)
        record.response_model = result.model or model
        reply = {"text": result.text, "model": result.model or model}
        if result.language:
            reply["language"] = result.language
        if result.usage is not None:
            reply["usage"] = record.usage_dict()
        return ok(keep_response(record, reply))
