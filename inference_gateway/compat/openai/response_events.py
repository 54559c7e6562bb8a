"""Responses, streamed: the gateway's stream events as the Responses API's typed, numbered events
(pure translation; the response object and items are responses.py's)."""
import json

from inference_gateway.compat.openai.errors import event_error
from inference_gateway.compat.openai.responses import (
    call_item, message_item, reasoning_item, response_body, text_part)
from inference_gateway.types import Thought


class ResponseEvents:
    """The gateway's stream events as the Responses API's typed events, numbered from 0."""

    def __init__(self, call_id, created, model, call):
        self.call_id, self.created, self.model, self.call = call_id, created, model, call
        self.seq = 0
        self.output = []  # finished items
        self.open = None  # ("text", item, texts) or ("tool", item, pieces, tool index)

    def frame(self, kind, **data):
        data = {"type": kind, **data, "sequence_number": self.seq}
        self.seq += 1
        return (b"event: " + kind.encode() + b"\ndata: "
                + json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n")

    def response(self, status, usage=None, finish=None, error=None):
        return response_body(f"resp_{self.call_id}", self.created, self.model, self.call, status,
                             self.output, usage, finish, error)

    def close_open(self):
        if self.open is None:
            return
        kind, item, pieces = self.open[:3]
        index = len(self.output)
        if kind == "reasoning":
            text = "".join(pieces)
            if text:
                yield self.frame("response.reasoning_summary_text.done", item_id=item["id"],
                                 output_index=index, summary_index=0, text=text)
                yield self.frame("response.reasoning_summary_part.done", item_id=item["id"],
                                 output_index=index, summary_index=0, part={"type": "summary_text", "text": text})
            signature, redacted = self.open[4]
            item = reasoning_item(item["id"], Thought(text, signature, redacted))
        elif kind == "text":
            text = "".join(pieces)
            item = message_item(item["id"], text)
            yield self.frame("response.output_text.done", item_id=item["id"], output_index=index,
                             content_index=0, text=text, logprobs=[])
            yield self.frame("response.content_part.done", item_id=item["id"], output_index=index,
                             content_index=0, part=text_part(text))
        else:
            args = "".join(pieces)
            item = {**item, "arguments": args, "status": "completed"}
            yield self.frame("response.function_call_arguments.done", item_id=item["id"],
                             output_index=index, name=item["name"], arguments=args)
        yield self.frame("response.output_item.done", output_index=index, item=item)
        self.output.append(item)
        self.open = None

    def text(self, delta):
        if self.open is None or self.open[0] != "text":
            yield from self.close_open()
            item = message_item(f"msg_{self.call_id}_{len(self.output)}", None, "in_progress")
            self.open = ("text", item, [])
            index = len(self.output)
            yield self.frame("response.output_item.added", output_index=index, item=item)
            yield self.frame("response.content_part.added", item_id=item["id"], output_index=index,
                             content_index=0, part=text_part(""))
        self.open[2].append(delta)
        yield self.frame("response.output_text.delta", item_id=self.open[1]["id"],
                         output_index=len(self.output), content_index=0, delta=delta, logprobs=[])

    def thought(self, event):
        """A reasoning item per thought: summary part and text events for its text; its signature
        goes in the item at response.output_item.done (as OpenAI's encrypted_content does)."""
        if self.open is None or self.open[0] != "reasoning" or self.open[3] != event["index"]:
            yield from self.close_open()
            item = {"type": "reasoning", "id": f"rs_{self.call_id}_{len(self.output)}", "summary": [],
                    "encrypted_content": None, "status": "in_progress"}
            self.open = ("reasoning", item, [], event["index"], [None, None])
            yield self.frame("response.output_item.added", output_index=len(self.output), item=item)
        item, pieces, secret = self.open[1], self.open[2], self.open[4]
        if event["text"]:
            if not pieces:
                yield self.frame("response.reasoning_summary_part.added", item_id=item["id"],
                                 output_index=len(self.output), summary_index=0,
                                 part={"type": "summary_text", "text": ""})
            pieces.append(event["text"])
            yield self.frame("response.reasoning_summary_text.delta", item_id=item["id"],
                             output_index=len(self.output), summary_index=0, delta=event["text"])
        if event.get("signature"):
            secret[0] = event["signature"]
        if event.get("redacted") is not None:
            secret[1] = event["redacted"]

    def tool(self, event):
        if event.get("signature") and event.get("id"):
            # The call's own signature (Gemini's) rides in a reasoning item right before it.
            yield from self.close_open()
            item = reasoning_item(f"rs_{self.call_id}_{len(self.output)}", Thought("", event["signature"]))
            yield self.frame("response.output_item.added", output_index=len(self.output),
                             item={**item, "encrypted_content": None, "status": "in_progress"})
            yield self.frame("response.output_item.done", output_index=len(self.output), item=item)
            self.output.append(item)
        if self.open is None or self.open[0] != "tool" or self.open[3] != event["index"]:
            yield from self.close_open()
            item = call_item(f"fc_{self.call_id}_{len(self.output)}",
                             event.get("id") or f"call_{self.call_id}_{event['index']}",
                             event.get("name") or "", "", "in_progress")
            self.open = ("tool", item, [], event["index"])
            yield self.frame("response.output_item.added", output_index=len(self.output), item=item)
        if event.get("arguments"):
            self.open[2].append(event["arguments"])
            yield self.frame("response.function_call_arguments.delta", item_id=self.open[1]["id"],
                             output_index=len(self.output), delta=event["arguments"])

    def frames(self, events):
        for event in events:
            kind = event["type"]
            if kind == "content_block_delta":
                yield from self.text(event["delta"]["text"])
            elif kind == "tool_call_delta":
                yield from self.tool(event)
            elif kind == "thinking_delta":
                yield from self.thought(event)
            elif kind == "message_start":
                yield self.frame("response.created", response=self.response("in_progress"))
                yield self.frame("response.in_progress", response=self.response("in_progress"))
            elif kind == "message_stop":
                yield from self.close_open()
                body = self.response("completed", event["usage"], event.get("finishReason"))
                yield self.frame(f"response.{body['status']}", response=body)
            elif kind == "error":
                yield from self.close_open()
                error = event_error(event["error"])
                yield self.frame("response.failed", response=self.response(
                    "failed", error={"code": error["code"], "message": error["message"]}))
                return
