"""Anthropic's routes on /v1: /messages (JSON or typed SSE events) and /messages/count_tokens,
thin views over the gateway's call frame and chat orchestration; the wire format is messages.py's."""
from flask import Blueprint, request

from inference_gateway.compat import common
from inference_gateway.compat.anthropic import messages
from inference_gateway.compat.anthropic.errors import render
from inference_gateway.gateway.chat import count_tokens
from inference_gateway.web.body import json_body
from inference_gateway.web.calls import keep_response, logged_call, open_adapter

bp = Blueprint("anthropic_compat", __name__)
common.install(bp, render)

BETA = "anthropic-beta"


def add_beta(req):
    req.beta = request.headers.get(BETA) or None


@bp.post("/messages")
def create_message():
    return common.chat_call(
        json_body(), "anthropic_messages", messages.parse,
        lambda record, call, completion, calls: messages.message_body(
            record.id, call.model, completion, record.usage_dict(), calls),
        lambda record, call, stream: messages.stream_frames(stream, record.id, call.model),
        prepare=add_beta)


@bp.post("/messages/count_tokens")
def count_message_tokens():
    body = json_body()
    with logged_call("anthropic_count_tokens", body) as record:
        call = messages.parse_count(body)
        _, model, adapter = open_adapter(record, call.model, None)
        req = call.request(model)
        add_beta(req)
        return common.json_reply(keep_response(record, {"input_tokens": count_tokens(adapter, req)}))
