"""Anthropic's routes on /v1: /messages (JSON or typed SSE events) and /messages/count_tokens,
thin views over the gateway's call frame and chat orchestration; the wire format is messages.py's."""
from flask import Blueprint, request

from inference_gateway.compat import common
from inference_gateway.compat.anthropic import messages
from inference_gateway.compat.anthropic.errors import render
from inference_gateway.gateway.chat import complete, count_tokens, open_stream, tool_call_dict
from inference_gateway.web.body import json_body
from inference_gateway.web.calls import keep_response, logged_call, open_adapter

bp = Blueprint("anthropic_compat", __name__)
common.install(bp, render)

BETA = "anthropic-beta"


def open_call(record, body, parse):
    call = parse(body)
    provider, model, adapter = open_adapter(record, call.model, None)
    req = call.request(model)
    req.beta = request.headers.get(BETA) or None
    return call, provider, req, adapter


@bp.post("/messages")
def create_message():
    body = json_body()
    endpoint = "anthropic_messages_stream" if body.get("stream") is True else "anthropic_messages"
    with logged_call(endpoint, body) as record:
        call, provider, req, adapter = open_call(record, body, messages.parse)
        if call.stream:
            stream = open_stream(record, provider.name, adapter, req)
        else:
            completion = complete(record, adapter, req)
            return common.json_reply(keep_response(record, messages.message_body(
                record.id, call.model, completion, record.usage_dict(),
                [tool_call_dict(c) for c in completion.tool_calls])))
    return common.stream_response(messages.stream_frames(stream, record.id, call.model), stream)


@bp.post("/messages/count_tokens")
def count_message_tokens():
    body = json_body()
    with logged_call("anthropic_count_tokens", body) as record:
        _, _, req, adapter = open_call(record, body, messages.parse_count)
        return common.json_reply(keep_response(record, {"input_tokens": count_tokens(adapter, req)}))
