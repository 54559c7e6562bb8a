"""Chat orchestration: one completion, or one stream turned into the API's events."""
import logging
import time

from inference_gateway import errors, events
from inference_gateway.gateway.estimate import estimate_input_tokens
from inference_gateway.providers.common import ToolCallBuffer
from inference_gateway.store import request_log, stream_rows
from inference_gateway.store.request_log import CANCELLED
from inference_gateway.types import (ChatRequest, ImagePart, Message, Reasoning, ResponseFormat, TextPart, Thought,
                                     Tool, ToolCall)

log = logging.getLogger(__name__)


def chat_request(data, model):
    """Our neutral ChatRequest from a validated /chat body."""
    tools, response_format, reasoning = data.get("tools"), data.get("response_format"), data.get("reasoning")
    return ChatRequest(
        model=model,
        messages=[Message(m["role"], m["content"]) if len(m) == 2 and type(m.get("content")) is str
                  else rich_message(m)
                  for m in data["messages"]],
        max_tokens=data.get("max_tokens"),
        temperature=data.get("temperature"),
        top_p=data.get("top_p"),
        stop=data.get("stop"),
        system=data.get("system"),
        tools=[Tool(t["name"], t.get("parameters") or {"type": "object", "properties": {}},
                    t.get("description")) for t in tools] if tools else None,
        tool_choice=data.get("tool_choice"),
        response_format=ResponseFormat(**response_format) if response_format else None,
        reasoning=Reasoning(**reasoning) if reasoning else None,
    )


def rich_message(m):
    """A validated message with parts, tool calls or a tool call id, as a neutral Message."""
    content = m.get("content", "")
    if isinstance(content, list):
        content = [TextPart(p["text"], p.get("cache_control")) if p["type"] == "text"
                   else ImagePart(p.get("url"), p.get("data"), p.get("mime_type")) for p in content]
    calls = [ToolCall(c["id"], c["name"], c["arguments"], c.get("signature"))
             for c in m.get("tool_calls") or ()]
    thoughts = [Thought(t.get("text", ""), t.get("signature"), t.get("redacted")) for t in m.get("thoughts") or ()]
    return Message(m["role"], content, calls, m.get("tool_call_id"), thoughts)


def tool_call_dict(call):
    """A ToolCall as the API shows it."""
    out = {"id": call.id, "name": call.name, "arguments": call.arguments}
    if call.signature:
        out["signature"] = call.signature
    if call.raw_arguments is not None:
        out["rawArguments"] = call.raw_arguments
    return out


def thought_dict(thought):
    """A Thought (or a ThoughtDelta's fields) as the API shows it, and takes it back in an assistant
    message."""
    out = {"text": thought.text}
    if thought.signature:
        out["signature"] = thought.signature
    if thought.redacted is not None:
        out["redacted"] = thought.redacted
    return out


def reasoning_fields(thoughts):
    """What a reply adds when the provider showed its reasoning: the text, and the thoughts to send back."""
    return {"reasoning": "".join(t.text for t in thoughts), "thoughts": [thought_dict(t) for t in thoughts]}


class ThoughtBuffer:
    """Streamed ThoughtDeltas assembled into Thoughts, by index."""

    def __init__(self):
        self.pieces = {}  # index -> (list of text pieces, Thought without its text yet)

    def add(self, delta):
        texts, thought = self.pieces.setdefault(delta.index, ([], Thought()))
        texts.append(delta.text)
        if delta.signature:
            thought.signature = delta.signature
        if delta.redacted is not None:
            thought.redacted = delta.redacted

    def result(self):
        thoughts = []
        for index in sorted(self.pieces):
            texts, thought = self.pieces[index]
            thought.text = "".join(texts)
            thoughts.append(thought)
        return thoughts


def tool_call_event(delta):
    """A streamed piece of a tool call: id and name when first known, then argument text."""
    event = {"type": "tool_call_delta", "index": delta.index}
    if delta.id:
        event["id"] = delta.id
    if delta.name:
        event["name"] = delta.name
    event["arguments"] = delta.arguments
    if delta.signature:
        event["signature"] = delta.signature
    return event


def thought_event(delta):
    """A streamed piece of the model's reasoning: its text, then its signature (or redacted data)."""
    return {"type": "thinking_delta", "index": delta.index, **thought_dict(delta)}


def complete(record, adapter, req):
    """One completion, its usage noted on the call's row."""
    completion = adapter.chat(req)
    record.set_usage(completion.usage)
    record.response_model, record.finish_reason = completion.model or req.model, completion.finish_reason
    return completion


def count_tokens(adapter, req):
    """Input tokens of a request: the provider's own count where it has an endpoint for it
    (Anthropic), else the gateway's estimate (gateway/estimate.py)."""
    counter = getattr(adapter, "count_tokens", None)
    return counter(req) if counter is not None else estimate_input_tokens(req)


def open_stream(record, provider_name, adapter, req):
    """Reach the upstream (failures raise before any event); the ChatStream to iterate."""
    return ChatStream(record, provider_name, adapter, req).open()


def error_event(exc):
    return {"type": "error", "error": {"code": exc.code, "message": exc.message}}


class ChatStream:
    """One streamed generation. `open()` reaches the upstream (failures raise, before any event);
    iterating yields API events; the call's log row is written exactly once however it ends,
    including when the server closes the stream without ever iterating it (`close()`)."""

    def __init__(self, record, provider_name, adapter, req):
        self.record = record
        self.provider_name = provider_name
        self.adapter = adapter
        self.req = req
        self.chunks = None
        self.finish_reason = None
        self.tool_calls = ToolCallBuffer()
        self.thoughts = None  # a ThoughtBuffer once the model shows reasoning
        self.deltas = 0
        self.usage_reported = False
        self.cancel_reason = None
        self._gen = None
        self._started = False
        self._done = False
        record.stream = True
        record.adapter = adapter

    def open(self):
        self.chunks = self.adapter.stream(self.req)
        # A route has only now settled on the provider serving it (the record follows its attempts).
        self.provider_name = self.record.provider_name or self.provider_name
        self.record.deferred = True
        self._gen = self._events()
        return self

    def __iter__(self):
        return self._gen

    def close(self):
        """Stop the stream: closes the upstream and writes the row, whether or not it started."""
        if self._started:
            self._gen.close()
        elif not self._done:
            self._done = True
            self._cut(self.cancel_reason or "the client went away before the stream started")
            self._close_upstream()
            request_log.write(self.record)

    def cancel(self, reason="cancelled by the client"):
        """Cancel from any thread: mark it and close the upstream so a blocked read ends now."""
        self.cancel_reason = reason
        self._close_upstream()

    @property
    def cancelled(self):
        return self.record.status == CANCELLED

    def _events(self):
        record = self.record
        self._started = True
        events.stream_opened.send(record.endpoint)
        clock, every = time.monotonic, stream_rows.settings.checkpoint_every
        try:
            # The row exists from the first event on: a worker killed mid-stream leaves it behind,
            # to be closed as INTERRUPTED (stream_rows), instead of leaving no row at all.
            stream_rows.open_row(record)
            next_checkpoint = clock() + every
            yield {"type": "message_start", "requestId": record.public_id, "model": self.req.model,
                   "provider": self.provider_name}
            for chunk in self.chunks:
                if self.cancel_reason:
                    self._cut(self.cancel_reason)
                    return
                if clock() >= next_checkpoint:
                    stream_rows.checkpoint(record, self.deltas)
                    next_checkpoint = clock() + every
                if chunk.usage is not None:
                    record.set_usage(chunk.usage)
                    self.usage_reported = True
                if chunk.finish_reason:
                    self.finish_reason = record.finish_reason = chunk.finish_reason
                if chunk.text:
                    record.mark_first_token()
                    self.deltas += 1
                    yield {"type": "content_block_delta", "delta": {"text": chunk.text}}
                for delta in chunk.tool_calls:
                    record.mark_first_token()
                    self.deltas += 1
                    self.tool_calls.add(delta)
                    yield tool_call_event(delta)
                for delta in chunk.thoughts:
                    record.mark_first_token()
                    self.deltas += 1
                    if self.thoughts is None:
                        self.thoughts = ThoughtBuffer()
                    self.thoughts.add(delta)
                    yield thought_event(delta)
            if self.cancel_reason:
                # cancel() closed the upstream and its reader took that as the end of the body: the
                # stream was cut, not finished (the row said success while the client was told
                # CANCELLED).
                self._cut(self.cancel_reason)
                return
            calls = self.tool_calls.result() if self.tool_calls else []
            stop = {"type": "message_stop", "usage": record.usage_dict(),
                    "finishReason": self.finish_reason, "toolCalls": [tool_call_dict(c) for c in calls]}
            if self.thoughts is not None:
                stop.update(reasoning_fields(self.thoughts.result()))
            # The row is written before the client sees message_stop, so a client that reads
            # /usage or /requests/<id> right after finds it.
            self._end()
            yield stop
        except GeneratorExit:
            self._cut(self.cancel_reason or "the client went away")
            raise
        except Exception as exc:
            if self.cancel_reason:
                # The read failed because cancel() closed the upstream under it.
                self._cut(self.cancel_reason)
                return
            if isinstance(exc, errors.GatewayError):
                self.adapter.scrub_error(exc)
                self._cut_error(exc)
                yield error_event(exc)
                return
            log.exception("stream %s failed", record.id)
            exc = errors.GatewayError("internal error while streaming; see the gateway's log")
            self._cut_error(exc)
            yield error_event(exc)
        finally:
            self._end()

    def _end(self):
        """Close the upstream and write the row, once."""
        if self._done:
            return
        self._done = True
        self._close_upstream()
        try:
            request_log.write(self.record)
            stream_rows.sweep_if_due()
        finally:
            events.stream_closed.send(self.record.endpoint)

    def _count_cut_tokens(self):
        # Cut short before the provider reported output usage: count one token per delta seen.
        if self.record.output_tokens < self.deltas:
            self.record.output_tokens = self.deltas

    def _cut(self, reason):
        self.record.status = CANCELLED
        self.record.http_status = 499
        self.record.error_code = errors.CANCELLED
        self.record.error_message = reason
        self._count_cut_tokens()

    def _cut_error(self, exc):
        self.record.fail(exc)
        self._count_cut_tokens()

    def _close_upstream(self):
        # Closing the chunk generator runs the adapter's cleanup; adapter.close() also covers a
        # generator that never started (its finally would never run).
        for close in (getattr(self.chunks, "close", None), self.adapter.close):
            if close is None:
                continue
            try:
                close()
            except Exception:
                log.debug("closing upstream stream failed", exc_info=True)
